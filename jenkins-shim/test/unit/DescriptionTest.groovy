import static harness.Fixtures.args

import harness.Fixtures
import harness.PipelineHarness
import org.junit.Before
import org.junit.Test

/** The build's description gets one line per registration, after whatever was there. */
class DescriptionTest {

    private static final String ROUTED = "wharf: api \u2192 dev (artifact ${Fixtures.ARTIFACT_ID})"

    private PipelineHarness pipeline

    @Before
    void setUp() {
        pipeline = Fixtures.harness()
        pipeline.replyWith(0, Fixtures.REGISTERED)
    }

    @Test
    void anEmptyDescriptionIsSet() {
        pipeline.runStep('wharfRegister', args())

        assert pipeline.currentBuild.description == ROUTED
    }

    @Test
    void anExistingDescriptionIsKept() {
        pipeline.currentBuild.description = 'release candidate'

        pipeline.runStep('wharfRegister', args())

        assert pipeline.currentBuild.description == "release candidate\n${ROUTED}"
    }

    @Test
    void twoRegistrationsMakeTwoLines() {
        pipeline.runStep('wharfRegister', args())
        pipeline.replyWith(0, Fixtures.registeredWith(ciName: 'web', artifactId: 'ffff0000'))
        pipeline.runStep('wharfRegister', args(service: 'web'))

        assert pipeline.currentBuild.description == "${ROUTED}\nwharf: web \u2192 dev (artifact ffff0000)"
    }

    @Test
    void anUnclassifiedBuildSaysSo() {
        pipeline.replyWith(0, Fixtures.contract('unrouted'))

        pipeline.runStep('wharfRegister', args())

        assert pipeline.currentBuild.description ==
            'wharf: api \u2192 unclassified (artifact 01a20a6609bc71e685b58f798dce5c7b)'
    }

    @Test
    void aReplayedRegistrationSaysSo() {
        pipeline.replyWith(0, Fixtures.contract('replayed'))

        pipeline.runStep('wharfRegister', args())

        assert pipeline.currentBuild.description == "wharf: api \u2192 dev (artifact ${Fixtures.ARTIFACT_ID}, replayed)"
    }

    @Test
    void aDryRunSaysWhereTheBuildWouldGo() {
        pipeline.replyWith(0, Fixtures.contract('dry-run'))

        pipeline.runStep('wharfRegister', args(dryRun: true))

        assert pipeline.currentBuild.description == 'wharf dry run: api \u2192 dev'
    }

}
