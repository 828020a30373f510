package harness

/** `env` in a Pipeline: reads the build's environment as changed by withEnv/withCredentials. */
class EnvView {

    private final PipelineHarness harness

    EnvView(PipelineHarness harness) {
        this.harness = harness
    }

    Object propertyMissing(String name) {
        return harness.effectiveEnv()[name]
    }

}
