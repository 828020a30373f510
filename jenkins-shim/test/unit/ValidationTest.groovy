import static harness.Fixtures.args

import harness.Fixtures
import harness.PipelineHarness
import org.junit.Before
import org.junit.Test

/** Bad parameters stop the step with a message naming the parameter and the fix; wharf never runs. */
class ValidationTest {

    private PipelineHarness pipeline

    @Before
    void setUp() {
        pipeline = Fixtures.harness()
    }

    @Test
    void anUnknownParameterIsNamedAndTheValidOnesListed() {
        String message = failure(args(imageUrl: 'x'))

        assert message.startsWith("wharfRegister: unknown parameter 'imageUrl': the parameters are controlPlaneUrl, ")
        assert message.contains('project, service, ciName, image, gitRef, environment, releaseStream')
        assert message.endsWith('push, requireRoute, dryRun')
    }

    @Test
    void aParameterSpelledTheActionWayGetsASuggestion() {
        assert failure(args('control-plane-url': 'https://x')).contains("did you mean 'controlPlaneUrl'?")
        assert failure(args(require_route: true)).contains("did you mean 'requireRoute'?")
    }

    @Test
    void aTokenPassedAsAParameterIsRefusedAndNotRepeated() {
        String message = failure(args(token: Fixtures.TOKEN))

        assert message.startsWith("wharfRegister: unknown parameter 'token': the token comes only from a " +
            "Jenkins credential: give its id as 'credentialsId' (Username with password) or " +
            "'tokenCredentialsId' (Secret text).")
        assert !pipeline.visibleText().contains(Fixtures.TOKEN)
    }

    @Test
    void noParametersAtAllListsEveryMissingOne() {
        String message = pipeline.stepFailure('wharfRegister', null)

        assert message.startsWith('wharfRegister: 5 problems with the parameters:\n')
        ['controlPlaneUrl', 'credentialsId', 'project', 'service', 'image'].each { String name ->
            assert message.contains("  - '${name}' is required")
        }
        assert pipeline.shellCalls.empty
    }

    @Test
    void eachRequiredParameterIsReportedAlone() {
        ['controlPlaneUrl', 'credentialsId', 'project', 'service', 'image'].each { String name ->
            Map<String, Object> missing = args()
            missing.remove(name)
            assert failure(missing).startsWith("wharfRegister: '${name}' is required")
        }
    }

    @Test
    void ciNameStandsInForService() {
        pipeline.replyWith(0, Fixtures.REGISTERED)
        Map<String, Object> ciOnly = args(ciName: 'api')
        ciOnly.remove('service')

        pipeline.runStep('wharfRegister', ciOnly)

        assert pipeline.lastShellCall().env.WHARF_CI_NAME == 'api'
    }

    @Test
    void atMostOneTargetMayBeGiven() {
        assert failure(args(gitRef: 'main', environment: 'dev')) ==
            "wharfRegister: give at most one of 'gitRef', 'environment' and 'releaseStream', " +
            "not 'gitRef' and 'environment'"
        assert failure(args(environment: 'dev', releaseStream: 'stable', gitRef: 'main'))
            .endsWith("not 'gitRef' and 'environment' and 'releaseStream'")
    }

    @Test
    void credentialParametersMustFitTogether() {
        assert failure(args(tokenCredentialsId: 'wharf-token', username: 'u')).contains('not both')

        Map<String, Object> noUsername = args(tokenCredentialsId: 'wharf-token')
        noUsername.remove('credentialsId')
        assert failure(noUsername) == "wharfRegister: 'username' is required with 'tokenCredentialsId': " +
            'the wharf user the token belongs to'

        assert failure(args(username: 'u')).contains("'username' goes only with 'tokenCredentialsId'")
    }

    @Test
    void switchesMustBeBooleans() {
        assert failure(args(push: 'yes')) == "wharfRegister: 'push' must be true or false, got 'yes'"
        assert failure(args(dryRun: 1)) == "wharfRegister: 'dryRun' must be true or false, got '1'"
    }

    @Test
    void textParametersMustBeText() {
        assert failure(args(project: ['shop'])) == "wharfRegister: 'project' must be text, got ArrayList"
    }

    @Test
    void theControlPlaneUrlNeedsAScheme() {
        assert failure(args(controlPlaneUrl: 'wharf.example.com')) ==
            "wharfRegister: 'controlPlaneUrl' must start with https:// or http://, got 'wharf.example.com'"
    }

    @Test
    void pushOptionsNeedPush() {
        assert failure(args(tag: 'v1')) ==
            "wharfRegister: 'tag' goes only with 'push: true': it is about the copy into the control plane's registry"
        assert failure(args(platform: 'linux/amd64', push: false))
            .startsWith("wharfRegister: 'platform' goes only with")
    }

    @Test
    void refFromIsSourceOrTarget() {
        assert failure(args(refFrom: 'base')) == "wharfRegister: 'refFrom' must be 'source' or 'target', got 'base'"
    }

    private String failure(Map<String, Object> arguments) {
        String message = pipeline.stepFailure('wharfRegister', arguments)
        assert pipeline.shellCalls.empty
        assert pipeline.log[-1] == "ERROR: ${message}"
        return message
    }

}
