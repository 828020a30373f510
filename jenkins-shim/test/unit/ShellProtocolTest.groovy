import static harness.Fixtures.args

import harness.Fixtures
import harness.PipelineHarness
import java.nio.file.Files
import org.junit.After
import org.junit.Before
import org.junit.Test

/**
 * The register script run by a real `sh -xe`, as Jenkins runs it, with a stand-in for wharf:
 * the exit code survives, values arrive verbatim and inert, and the token stays out of argv.
 */
class ShellProtocolTest {

    private static final String HOSTILE = 'nightly $(touch pwned) `touch pwned2` "; touch pwned3 \''

    private PipelineHarness pipeline
    private File dir
    private File fakeWharf

    @Before
    void setUp() {
        dir = Files.createTempDirectory('wharf-shell-protocol').toFile()
        fakeWharf = new File(dir, 'wharf')
        fakeWharf.text = '''#!/bin/sh
here=$(dirname "$0")
printf '%s\\n' "$@" >"$here/argv"
printf '%s' "$WHARF_DESCRIPTION" >"$here/description"
[ -f "$here/stderr" ] && cat "$here/stderr" >&2
cat "$here/stdout"
exit "$(cat "$here/status")"
'''
        fakeWharf.executable = true
        pipeline = Fixtures.harness()
        pipeline.workspace = dir
        pipeline.runShellForReal()
    }

    @After
    void tearDown() {
        dir.deleteDir()
    }

    @Test
    void valuesArriveVerbatimAndNothingInThemRuns() {
        answer(0, Fixtures.REGISTERED)

        Map outcome = (Map) pipeline.runStep('wharfRegister', args(wharfPath: fakeWharf.path, description: HOSTILE,
            push: true, tag: 'v1 $(touch pwned4)'))

        assert outcome.artifactId == Fixtures.ARTIFACT_ID
        assert new File(dir, 'description').text == HOSTILE
        assert new File(dir, 'argv').readLines() ==
            ['--output', 'json', 'register', '--push', '--tag', 'v1 $(touch pwned4)']
        assert !dir.list().any { String name -> name.startsWith('pwned') }
    }

    @Test
    void theTokenIsInTheEnvironmentOnlyNeverInArgvOrTheLog() {
        answer(0, Fixtures.REGISTERED)

        pipeline.runStep('wharfRegister', args(wharfPath: fakeWharf.path))

        assert !new File(dir, 'argv').text.contains(Fixtures.TOKEN)
        assert pipeline.log.any { String line -> line.startsWith("+ ${fakeWharf.path} --output json register") }
        assert !pipeline.visibleText().contains(Fixtures.TOKEN)
    }

    @Test
    void wharfsExitCodeAndMessageSurviveTheShell() {
        String message = Fixtures.parse(Fixtures.wharfError()).error.message
        new File(dir, 'stderr').text = "error: ${message}\n"
        answer(2, Fixtures.wharfError())

        String failure = pipeline.stepFailure('wharfRegister', args(wharfPath: fakeWharf.path))

        assert failure ==
            "wharfRegister: wharf register failed with exit code 2 (usage): ${Fixtures.ERROR_MESSAGE}"
        assert pipeline.log.contains("error: ${message}".toString())
    }

    @Test
    void outputWithoutAFinalNewlineIsRead() {
        answer(0, Fixtures.REGISTERED.trim())

        assert ((Map) pipeline.runStep('wharfRegister', args(wharfPath: fakeWharf.path))).routedTo == 'dev'
    }

    @Test
    void aMissingBinaryFailsWithItsExitCode() {
        String missing = new File(dir, 'no-such-wharf').path

        String failure = pipeline.stepFailure('wharfRegister', args(wharfPath: missing))

        assert failure.startsWith("wharfRegister: '${missing}' exited with code 127 and printed no JSON outcome")
        assert pipeline.log.any { String line -> line.contains('not found') }
    }

    private void answer(int status, String stdout) {
        new File(dir, 'status').text = status.toString()
        new File(dir, 'stdout').text = stdout
    }

}
