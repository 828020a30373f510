package harness

/** What the `error` step (and a failing `sh`) throws: Jenkins' AbortException. */
class StepFailure extends RuntimeException {

    StepFailure(String message) {
        super(message)
    }

}
