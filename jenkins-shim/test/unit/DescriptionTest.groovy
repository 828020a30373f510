import static harness.Fixtures.args

import harness.Fixtures
import harness.PipelineHarness
import org.junit.Before
import org.junit.Test

/** The build's description gets one line per registration, after whatever was there. */
class DescriptionTest {

    private static final String ROUTED = Fixtures.line('routed')

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
        pipeline.replyWith(0, Fixtures.contract('unrouted'))
        pipeline.runStep('wharfRegister', args(service: 'web'))

        assert pipeline.currentBuild.description == "${ROUTED}\n${Fixtures.line('unrouted')}"
    }

    @Test
    void anUnclassifiedBuildSaysSo() {
        pipeline.replyWith(0, Fixtures.contract('unrouted'))

        pipeline.runStep('wharfRegister', args())

        assert pipeline.currentBuild.description == Fixtures.line('unrouted')
    }

    @Test
    void aReplayedRegistrationSaysSo() {
        pipeline.replyWith(0, Fixtures.contract('replayed'))

        pipeline.runStep('wharfRegister', args())

        assert pipeline.currentBuild.description == Fixtures.line('replayed')
    }

    @Test
    void aDryRunSaysWhereTheBuildWouldGo() {
        pipeline.replyWith(0, Fixtures.contract('dry-run'))

        pipeline.runStep('wharfRegister', args(dryRun: true))

        assert pipeline.currentBuild.description == Fixtures.line('dry-run')
    }

}
