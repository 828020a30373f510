import static harness.Fixtures.args

import groovy.json.JsonSlurperClassic
import harness.Fixtures
import harness.PipelineHarness
import org.junit.Before
import org.junit.Test

/** The step returns wharf's outcome as a plain Map, and logs one line about it. */
class ResultTest {

    private PipelineHarness pipeline

    @Before
    void setUp() {
        pipeline = Fixtures.harness()
    }

    @Test
    void theOutcomeIsReturnedWhole() {
        pipeline.replyWith(0, Fixtures.REGISTERED)

        Map outcome = (Map) pipeline.runStep('wharfRegister', args())

        assert outcome == new JsonSlurperClassic().parseText(Fixtures.REGISTERED)
        assert outcome.artifactId == Fixtures.ARTIFACT_ID
        assert outcome.routedTo == 'dev'
        assert outcome.classified == true
        assert outcome.ruleName == 'shop-branches'
        assert outcome.replayed == false
    }

    @Test
    void aPushOutcomeCarriesTheDigestAndPushedUri() {
        String digest = 'sha256:754bf3b38cf81ebd93434a33c28e3ca3c0457bdae8fa48ca46ca42ae6c68e5f4'
        pipeline.replyWith(0, Fixtures.contract('pushed'))

        Map outcome = (Map) pipeline.runStep('wharfRegister', args(push: true))

        assert outcome.digest == digest
        assert outcome.pushedUri == "cp.example.com/shop/api@${digest}"
        assert outcome.blobsUploaded == 1
        assert pipeline.log == [Fixtures.line('pushed')]
    }

    @Test
    void theOutcomeSurvivesSerialisationAsPipelineVariablesMust() {
        pipeline.replyWith(0, Fixtures.REGISTERED)
        Map outcome = (Map) pipeline.runStep('wharfRegister', args())

        ByteArrayOutputStream bytes = new ByteArrayOutputStream()
        new ObjectOutputStream(bytes).withCloseable { ObjectOutputStream out -> out.writeObject(outcome) }
        Object copy = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray())).readObject()

        assert outcome.getClass().name.startsWith('java.util.')
        assert copy == outcome
    }

    @Test
    void theLogSaysWhatHappened() {
        pipeline.replyWith(0, Fixtures.REGISTERED)
        pipeline.runStep('wharfRegister', args())
        pipeline.replyWith(0, Fixtures.contract('replayed'))
        pipeline.runStep('wharfRegister', args())

        assert pipeline.log == [Fixtures.line('routed'), Fixtures.line('replayed')]
    }

    @Test
    void aDryRunReturnsWhatWouldBeSent() {
        pipeline.replyWith(0, Fixtures.contract('dry-run'))

        Map outcome = (Map) pipeline.runStep('wharfRegister', args(dryRun: true))

        assert outcome.dryRun == true
        assert outcome.request.artifactUri == 'registry.example.com/shop/api:1.4.2'
        assert pipeline.log == [Fixtures.line('dry-run')]
    }

}
