package harness

/** `currentBuild` in a Pipeline, as far as the step uses it. */
class FakeBuild {

    String description

}
