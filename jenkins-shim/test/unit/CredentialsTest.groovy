import static harness.Fixtures.args

import harness.Fixtures
import harness.PipelineHarness
import org.junit.Before
import org.junit.Test

/** The token comes only from withCredentials, lives only inside it, and is never shown. */
class CredentialsTest {

    private PipelineHarness pipeline

    @Before
    void setUp() {
        pipeline = Fixtures.harness()
        pipeline.replyWith(0, Fixtures.REGISTERED)
    }

    @Test
    void aUsernameWithPasswordCredentialGivesUsernameAndToken() {
        pipeline.runStep('wharfRegister', args())

        Map<String, String> env = pipeline.lastShellCall().env
        assert env.WHARF_USERNAME == 'ci-bot'
        assert env.WHARF_TOKEN == Fixtures.TOKEN
    }

    @Test
    void aSecretTextCredentialGivesTheTokenAndUsernameNamesTheUser() {
        Map<String, Object> secretText = args(tokenCredentialsId: 'wharf-token', username: 'deployer')
        secretText.remove('credentialsId')

        pipeline.runStep('wharfRegister', secretText)

        Map<String, String> env = pipeline.lastShellCall().env
        assert env.WHARF_USERNAME == 'deployer'
        assert env.WHARF_TOKEN == Fixtures.SECRET_TEXT_TOKEN
    }

    @Test
    void theTokenIsNeverInTheScriptTheLogOrTheDescription() {
        pipeline.runStep('wharfRegister', args())
        pipeline.replyWith(3, Fixtures.wharfError('the control plane refused the token of ci-bot'))
        pipeline.stepFailure('wharfRegister', args())

        assert pipeline.shellCalls.size() == 2
        pipeline.secrets().each { String secret -> assert !pipeline.visibleText().contains(secret) }
    }

    @Test
    void theTokenIsGoneFromTheEnvironmentAfterTheStep() {
        pipeline.runStep('wharfRegister', args())

        assert !pipeline.effectiveEnv().containsKey('WHARF_TOKEN')
        assert !pipeline.effectiveEnv().containsKey('WHARF_PROJECT')
    }

    @Test
    void anUnknownCredentialFailsBeforeWharfRuns() {
        String message = pipeline.stepFailure('wharfRegister', args(credentialsId: 'no-such-credential'))

        assert message.contains("Could not find credentials entry with ID 'no-such-credential'")
        assert pipeline.shellCalls.empty
    }

    @Test
    void aSecretTextCredentialGivenAsCredentialsIdFails() {
        String message = pipeline.stepFailure('wharfRegister', args(credentialsId: 'wharf-token'))

        assert message.contains("'wharf-token' is of type 'Secret text'")
        assert pipeline.shellCalls.empty
    }

}
