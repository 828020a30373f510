import static harness.Fixtures.args

import harness.Fixtures
import harness.PipelineHarness
import io.wharf.jenkins.RegisterParameters
import org.junit.Before
import org.junit.Test

/**
 * What the step cannot map (unknown names, wrong types, the credential it binds) stops it before
 * wharf runs, naming the parameter and the fix. The rest is wharf's to refuse: its message comes
 * back in the step's parameter names.
 */
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
        assert message.contains('project, service, ciName, image, file, gitRef, environment, releaseStream')
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
    void noParametersAtAllAsksForTheCredentialTheStepBinds() {
        String message = pipeline.stepFailure('wharfRegister', null)

        assert message.startsWith("wharfRegister: 'credentialsId' is required")
        assert pipeline.shellCalls.empty
    }

    @Test
    void aMissingValueIsWharfsToRefuseAndItsMessageIsTheStepsError() {
        ['project', 'service', 'image', 'controlPlaneUrl'].each { String name ->
            Map<String, Object> without = args()
            without.remove(name)
            String refusal = "missing ${name}: set '${name}'"
            assert wharfRefuses(without, refusal) == refusal
            assert !pipeline.lastShellCall().env.containsKey(RegisterParameters.TEXT_VARIABLES[name])
            assert pipeline.lastShellCall().env.WHARF_OPTION_NAMES == RegisterParameters.optionNames()
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
    void twoTargetsAreWharfsToRefuse() {
        assert wharfRefuses(args(gitRef: 'main', environment: 'staging'), null) == Fixtures.ERROR_MESSAGE
        assert pipeline.lastShellCall().env.subMap('WHARF_GIT_REF', 'WHARF_ENVIRONMENT') ==
            [WHARF_GIT_REF: 'main', WHARF_ENVIRONMENT: 'staging']
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
    void theControlPlaneUrlIsWharfsToCheck() {
        String refusal = "control plane URL 'wharf.example.com' must start with https:// (or http:// for loopback)"

        assert wharfRefuses(args(controlPlaneUrl: 'wharf.example.com'), refusal) == refusal
        assert pipeline.lastShellCall().env.WHARF_CONTROL_PLANE_URL == 'wharf.example.com'
    }

    @Test
    void pushOptionsWithoutPushAreWharfsToRefuse() {
        String refusal = "'tag' only applies when pushing: add 'push', or remove 'tag'"

        assert wharfRefuses(args(tag: 'v1'), refusal) == refusal
        assert pipeline.lastShellCall().script.contains('register --tag "$WHARF_PUSH_TAG" ||')
    }

    @Test
    void refFromIsSourceOrTarget() {
        assert failure(args(refFrom: 'base')) == "wharfRegister: 'refFrom' must be 'source' or 'target', got 'base'"
    }

    /**
     * Runs the step with wharf refusing (the contract's error, with this message); returns wharf's
     * message as the step words it.
     */
    private String wharfRefuses(Map<String, Object> arguments, String message) {
        pipeline.replyWith(2, Fixtures.wharfError(message))
        String failure = pipeline.stepFailure('wharfRegister', arguments)
        String prefix = 'wharfRegister: wharf register failed with exit code 2 (usage): '
        assert failure.startsWith(prefix)
        return failure - prefix
    }

    private String failure(Map<String, Object> arguments) {
        String message = pipeline.stepFailure('wharfRegister', arguments)
        assert pipeline.shellCalls.empty
        assert pipeline.log[-1] == "ERROR: ${message}"
        return message
    }

}
