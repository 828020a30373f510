package harness

// The harness reads the library's files and runs sh in a directory: java.io is its job.
/* groovylint-disable JavaIoPackageAccess */

/**
 * Runs a shared-library step from vars/ the way a Pipeline would, with the Jenkins steps it
 * calls (sh, withCredentials, withEnv, error, echo, env, currentBuild) replaced by stubs that
 * record what they were given.
 *
 * `shell` decides what `sh` does: a canned answer (replyWith) or a real `sh -xe` (runShellForReal).
 */
class PipelineHarness {

    static final String EXIT_MARKER = 'wharf-exit-code: '
    static final String USERNAME_PASSWORD = 'usernamePassword'
    static final String SECRET_TEXT = 'string'

    /** The build's environment, as Jenkins sets it (env.X, and the base environment of `sh`). */
    final Map<String, String> agentEnv = [:]
    /** The credential store: id -> [username: .., password: ..] or [secret: ..]. */
    final Map<String, Map<String, String>> credentials = [:]
    /** Every `sh` call: [script, env, returnStdout, returnStatus, stdout]. */
    final List<Map<String, Object>> shellCalls = []
    /** What the build log shows: echo lines, the shell's stderr, and error messages. */
    final List<String> log = []
    final FakeBuild currentBuild = new FakeBuild()
    /** (String script, Map env) -> [stdout: String, status: int]. */
    Closure<Map<String, Object>> shell = { String script, Map<String, String> env ->
        throw new AssertionError("sh was not expected here: ${script}")
    }
    File workspace = new File(System.getProperty('java.io.tmpdir'))

    private final List<Map<String, String>> frames = []

    static File shimRoot() {
        return new File(System.getProperty('wharf.jenkinsShim', 'jenkins-shim')).canonicalFile
    }

    /** Calls vars/NAME.groovy's `call(args)`, as `NAME(args)` in a Jenkinsfile would. */
    Object runStep(String name, Map args) {
        File source = new File(shimRoot(), "vars/${name}.groovy")
        Script step = new GroovyShell(getClass().classLoader, binding()).parse(source)
        return step.invokeMethod('call', args == null ? [] as Object[] : args)
    }

    /** Runs the step expecting it to fail through `error`; returns the error's message. */
    String stepFailure(String name, Map args) {
        try {
            runStep(name, args)
        } catch (StepFailure failure) {
            return failure.message
        }
        throw new AssertionError("${name} was expected to fail, but it succeeded")
    }

    /** `sh` answers as the register script would after wharf printed `json` and exited with `exitCode`. */
    void replyWith(int exitCode, String json) {
        shell = { String script, Map<String, String> env ->
            [stdout: "${json}\n\n${EXIT_MARKER}${exitCode}\n".toString(), status: 0]
        }
    }

    /** `sh` runs the script for real, like Jenkins' `sh -xe`, with exactly the step's environment. */
    void runShellForReal() {
        shell = { String script, Map<String, String> env -> runShell(script, env) }
    }

    Map<String, Object> runShell(String script, Map<String, String> env) {
        ProcessBuilder builder = new ProcessBuilder('sh', '-xe', '-c', script).directory(workspace)
        builder.environment().clear()
        builder.environment().putAll(env)
        Process process = builder.start()
        process.outputStream.close()
        StringBuilder stdout = new StringBuilder()
        StringBuilder stderr = new StringBuilder()
        process.waitForProcessOutput(stdout, stderr)
        stderr.toString().readLines().each { String line -> log << line }
        return [stdout: stdout.toString(), status: process.exitValue()]
    }

    /** The environment a `sh` started now would get: the build's, then withCredentials/withEnv. */
    Map<String, String> effectiveEnv() {
        Map<String, String> env = new LinkedHashMap<>(agentEnv)
        frames.each { Map<String, String> frame -> env.putAll(frame) }
        return env
    }

    /** Every secret in the credential store. */
    List<String> secrets() {
        return credentials.values().collectMany { Map<String, String> credential ->
            [credential.password, credential.secret].findAll()
        }
    }

    /** Everything the step made visible: scripts, log, description. Secrets must never be in it. */
    String visibleText() {
        return (shellCalls*.script + log + [currentBuild.description]).join('\n')
    }

    Map<String, Object> lastShellCall() {
        assert shellCalls : 'sh was never called'
        return shellCalls[-1]
    }

    private static Map<String, String> parsePairs(List pairs) {
        return pairs.collectEntries { Object pair ->
            String text = pair
            int equals = text.indexOf('=')
            assert equals > 0 : "withEnv takes NAME=value strings, got '${text}'"
            [(text.substring(0, equals)): text.substring(equals + 1)]
        }
    }

    private Binding binding() {
        return new Binding(
            env: new EnvView(this),
            currentBuild: currentBuild,
            echo: this.&echo,
            error: this.&error,
            sh: this.&sh,
            withEnv: this.&withEnv,
            withCredentials: this.&withCredentials,
            usernamePassword: this.&usernamePassword,
            string: this.&string,
        )
    }

    private void echo(Object message) {
        log << message.toString()
    }

    private void error(Object message) {
        log << "ERROR: ${message}".toString()
        throw new StepFailure(message.toString())
    }

    /** Jenkins' `sh`: returnStdout and returnStatus exclude each other; a failure throws unless returnStatus. */
    private Object sh(Object scriptOrSpec) {
        Map spec = scriptOrSpec instanceof Map ? (Map) scriptOrSpec : [script: scriptOrSpec]
        if (spec.returnStdout && spec.returnStatus) {
            throw new IllegalArgumentException('You may not select both returnStdout and returnStatus.')
        }
        Map<String, Object> call = [script: spec.script, env: effectiveEnv(),
                                    returnStdout: spec.returnStdout ?: false, returnStatus: spec.returnStatus ?: false]
        shellCalls << call
        Map<String, Object> result = shell.call((String) spec.script, (Map<String, String>) call.env)
        call.stdout = result.stdout
        if (spec.returnStatus) {
            return result.status
        }
        if (result.status != 0) {
            throw new StepFailure("script returned exit code ${result.status}")
        }
        return spec.returnStdout ? result.stdout : null
    }

    private Object withEnv(List pairs, Closure body) {
        return withFrame(parsePairs(pairs), body)
    }

    private Object withCredentials(List bindings, Closure body) {
        return withFrame(bind(bindings), body)
    }

    private Map usernamePassword(Map spec) {
        return [kind: USERNAME_PASSWORD] + spec
    }

    private Map string(Map spec) {
        return [kind: SECRET_TEXT] + spec
    }

    private Object withFrame(Map<String, String> frame, Closure body) {
        frames << frame
        try {
            return body.call()
        } finally {
            frames.remove(frames.size() - 1)
        }
    }

    /** Resolves credential bindings against the store, failing as Jenkins does. */
    private Map<String, String> bind(List bindings) {
        return bindings.collectEntries { Map spec ->
            Map<String, String> credential = credentials[spec.credentialsId]
            if (credential == null) {
                throw new StepFailure("Could not find credentials entry with ID '${spec.credentialsId}'")
            }
            if (spec.kind == USERNAME_PASSWORD) {
                if (credential.password == null) {
                    throw new StepFailure("Credentials '${spec.credentialsId}' is of type 'Secret text' " +
                        "where 'StandardUsernamePasswordCredentials' was expected")
                }
                return [(spec.usernameVariable): credential.username, (spec.passwordVariable): credential.password]
            }
            if (credential.secret == null) {
                throw new StepFailure("Credentials '${spec.credentialsId}' is of type 'Username with password' " +
                    "where 'StringCredentials' was expected")
            }
            return [(spec.variable): credential.secret]
        }
    }

}
