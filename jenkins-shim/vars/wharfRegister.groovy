import io.wharf.jenkins.RegisterOutcome
import io.wharf.jenkins.RegisterParameters

/**
 * Registers a built image with the wharf control plane (see wharfRegister.txt).
 *
 * Values reach wharf only as environment variables, and the token only through withCredentials:
 * the script passed to `sh` is fixed text, so nothing is interpolated into a command line.
 */
Map call(Map args = [:]) {
    List<String> problems = RegisterParameters.problems(args)
    if (problems) {
        error(RegisterParameters.report(problems))
    }
    Map<String, Object> given = RegisterParameters.normalize(args)

    String stdout = withCredentials([credentialBinding(given)]) {
        withEnv(RegisterParameters.environment(given)) {
            sh(script: RegisterParameters.script(given), returnStdout: true)
        }
    }

    Map<String, Object> run = RegisterOutcome.parse(stdout)
    String failure = RegisterOutcome.failure(run, (String) given.wharfPath)
    if (failure) {
        error(failure)
    }
    Map outcome = (Map) run.document
    echo(RegisterOutcome.summary(outcome))
    currentBuild.description = RegisterOutcome.appendLine(currentBuild.description, RegisterOutcome.summary(outcome))
    return outcome
}

private Object credentialBinding(Map<String, Object> given) {
    if (given.credentialsId) {
        return usernamePassword(
            credentialsId: given.credentialsId,
            usernameVariable: RegisterParameters.USERNAME_VARIABLE,
            passwordVariable: RegisterParameters.TOKEN_VARIABLE)
    }
    return string(credentialsId: given.tokenCredentialsId, variable: RegisterParameters.TOKEN_VARIABLE)
}
