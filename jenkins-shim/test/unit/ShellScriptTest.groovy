import static harness.Fixtures.args

import harness.Fixtures
import harness.PipelineHarness
import org.junit.Before
import org.junit.Test

/** The script given to `sh` is fixed text: flags come from booleans, values from the environment. */
class ShellScriptTest {

    private static final String PLAIN_SCRIPT = '''status=0
"$WHARF_BIN_PATH" --output json register || status=$?
echo
echo "wharf-exit-code: $status"
'''

    private PipelineHarness pipeline

    @Before
    void setUp() {
        pipeline = Fixtures.harness()
        pipeline.replyWith(0, Fixtures.REGISTERED)
    }

    @Test
    void theScriptIsTheFixedText() {
        pipeline.runStep('wharfRegister', args())

        assert pipeline.shellCalls.size() == 1
        assert pipeline.lastShellCall().script == PLAIN_SCRIPT
        assert pipeline.lastShellCall().returnStdout
        assert !pipeline.lastShellCall().returnStatus
    }

    @Test
    void switchesAddFixedFlags() {
        pipeline.runStep('wharfRegister', args(push: true, requireRoute: true, dryRun: true, refFrom: 'target'))

        assert pipeline.lastShellCall().script == PLAIN_SCRIPT.replace('register ||',
            'register --push --require-route --dry-run --ref-from target ||')
    }

    @Test
    void pushOptionsAddFlagsThatNameTheirVariables() {
        pipeline.runStep('wharfRegister', args(push: true, tag: 'v1.4.2', platform: 'linux/arm64'))

        assert pipeline.lastShellCall().script == PLAIN_SCRIPT.replace('register ||',
            'register --push --tag "$WHARF_PUSH_TAG" --platform "$WHARF_PUSH_PLATFORM" ||')
        assert pipeline.lastShellCall().env.subMap('WHARF_PUSH_TAG', 'WHARF_PUSH_PLATFORM') ==
            [WHARF_PUSH_TAG: 'v1.4.2', WHARF_PUSH_PLATFORM: 'linux/arm64']
    }

    @Test
    void falseSwitchesAndTheDefaultRefFromAddNothing() {
        pipeline.runStep('wharfRegister', args(push: false, requireRoute: 'false', dryRun: null, refFrom: 'source'))

        assert pipeline.lastShellCall().script == PLAIN_SCRIPT
    }

    @Test
    void switchesGivenAsTextWork() {
        pipeline.runStep('wharfRegister', args(requireRoute: 'true'))

        assert pipeline.lastShellCall().script.contains('register --require-route ||')
    }

    @Test
    void noParameterValueIsWrittenIntoTheScript() {
        Map<String, Object> hostile = args(
            project: 'shop$(touch /tmp/pwned)', service: 'api`id`', image: 'registry.example.com/x:1;reboot',
            gitRef: "main' && echo gotcha '", externalId: 'ext-123', registry: 'reg-456',
            description: 'desc "quoted" $HOME', wharfPath: '/opt/wharf/bin/wharf')

        pipeline.runStep('wharfRegister', hostile)

        String script = pipeline.lastShellCall().script
        hostile.values().each { Object value -> assert !script.contains(value.toString()) }
        assert script == PLAIN_SCRIPT
    }

}
