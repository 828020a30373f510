import static harness.Fixtures.args

import harness.Fixtures
import harness.PipelineHarness
import org.junit.Before
import org.junit.Test

/** When wharf fails, the step fails with wharf's message and exit code, and changes nothing else. */
class FailureTest {

    private PipelineHarness pipeline

    @Before
    void setUp() {
        pipeline = Fixtures.harness()
        pipeline.currentBuild.description = 'built 1.4.2'
    }

    @Test
    void wharfsJsonErrorBecomesTheStepsError() {
        pipeline.replyWith(2, Fixtures.wharfError())

        String message = pipeline.stepFailure('wharfRegister', args(gitRef: 'main', environment: 'staging'))

        assert message ==
            "wharfRegister: wharf register failed with exit code 2 (usage): ${Fixtures.ERROR_MESSAGE}"
        assertNothingElseChanged()
    }

    @Test
    void aMessageNamingNoneOfWharfsFlagsOrVariablesIsKeptAsItIs() {
        String unrouted = "GIT_REF 'feature/x' matches no routing rule of project 'shop'"
        pipeline.replyWith(2, Fixtures.wharfError(unrouted))

        String message = pipeline.stepFailure('wharfRegister', args(requireRoute: true))

        assert message == "wharfRegister: wharf register failed with exit code 2 (usage): ${unrouted}"
        assertNothingElseChanged()
    }

    @Test
    void aMissingBinaryPointsAtWharfPath() {
        pipeline.replyWith(127, '')

        String message = pipeline.stepFailure('wharfRegister', args(wharfPath: '/opt/wharf'))

        assert message.startsWith("wharfRegister: '/opt/wharf' exited with code 127 and printed no JSON outcome")
        assert message.contains('Check that wharfPath names the wharf binary')
        assertNothingElseChanged()
    }

    @Test
    void successWithoutJsonIsAFailure() {
        pipeline.replyWith(0, 'registered, probably')

        assert pipeline.stepFailure('wharfRegister', args()) ==
            'wharfRegister: wharf succeeded but printed no JSON outcome: registered, probably'
        assertNothingElseChanged()
    }

    @Test
    void aScriptThatNeverPrintedTheExitCodeIsAFailure() {
        pipeline.shell = { String script, Map<String, String> env -> [stdout: '{"artifactId": "x"', status: 0] }

        assert pipeline.stepFailure('wharfRegister', args()) ==
            "wharfRegister: the register script stopped before wharf's exit code was printed"
    }

    private void assertNothingElseChanged() {
        assert pipeline.currentBuild.description == 'built 1.4.2'
        assert pipeline.log.size() == 1 : 'only the error is logged'
    }

}
