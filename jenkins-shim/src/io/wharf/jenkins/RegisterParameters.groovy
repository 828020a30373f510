package io.wharf.jenkins

import com.cloudbees.groovy.cps.NonCPS

/**
 * The wharfRegister step's parameters, turned into environment variables and fixed command-line
 * flags. No user value ever becomes part of the shell script's text. The step checks only what
 * it needs to build the script and bind the credential; wharf checks the rest (required values,
 * at most one of gitRef, environment and releaseStream, push options without push), and
 * inStepTerms puts its message in the step's parameter names.
 */
class RegisterParameters {

    static final String STEP = 'wharfRegister'
    static final String USERNAME_VARIABLE = 'WHARF_USERNAME'
    static final String TOKEN_VARIABLE = 'WHARF_TOKEN'

    /**
     * Text parameters and the environment variable each one becomes: one wharf reads, or one the
     * script names (WHARF_BIN_PATH, WHARF_PUSH_*). Null: the step itself uses the value.
     */
    static final Map<String, String> TEXT_VARIABLES = [
        controlPlaneUrl: 'WHARF_CONTROL_PLANE_URL',
        credentialsId: null,
        tokenCredentialsId: null,
        username: USERNAME_VARIABLE,
        project: 'WHARF_PROJECT',
        service: 'WHARF_SERVICE',
        ciName: 'WHARF_CI_NAME',
        image: 'WHARF_IMAGE',
        file: 'WHARF_FILE',
        gitRef: 'WHARF_GIT_REF',
        environment: 'WHARF_ENVIRONMENT',
        releaseStream: 'WHARF_RELEASE_STREAM',
        externalId: 'WHARF_EXTERNAL_ID',
        registry: 'WHARF_REGISTRY',
        description: 'WHARF_DESCRIPTION',
        refFrom: null,
        tag: 'WHARF_PUSH_TAG',
        platform: 'WHARF_PUSH_PLATFORM',
        wharfPath: 'WHARF_BIN_PATH',
    ].asImmutable()

    /** Push options wharf reads from flags only: the script names their variables, never their values. */
    static final Map<String, List<String>> PUSH_OPTION_ARGUMENTS = [
        tag: ['--tag', '"$WHARF_PUSH_TAG"'],
        platform: ['--platform', '"$WHARF_PUSH_PLATFORM"'],
    ].asImmutable()

    /** Boolean parameters and the fixed flag each one adds when true. */
    static final Map<String, String> SWITCH_FLAGS = [
        push: '--push',
        requireRoute: '--require-route',
        dryRun: '--dry-run',
    ].asImmutable()

    static final List<String> NAMES =
        ((TEXT_VARIABLES.keySet() as List) + (SWITCH_FLAGS.keySet() as List)).asImmutable()
    static final String REF_FROM_TARGET = 'target'
    static final List<String> REF_FROM_VALUES = ['source', REF_FROM_TARGET].asImmutable()
    static final String DEFAULT_WHARF_PATH = 'wharf'
    static final String LINE_BREAK = '\n'
    /** Names a token might be passed under, by habit from other CI tools: never accepted. */
    static final List<String> TOKEN_NAMES = ['token', 'password', 'wharftoken', 'secret'].asImmutable()

    /**
     * Every problem the step must find before it runs wharf, each a sentence naming the parameter
     * and the fix: names and types it cannot map, and the credential it binds itself.
     */
    @NonCPS
    static List<String> problems(Map args) {
        List<String> found = unknownNames(args) + typeProblems(args)
        if (found) {
            return found
        }
        Map<String, Object> given = normalize(args)
        return credentialProblems(given) + valueProblems(given)
    }

    /** All problems as the one message the step fails with. */
    @NonCPS
    static String report(List<String> problems) {
        if (problems.size() == 1) {
            return "${STEP}: ${problems[0]}"
        }
        return "${STEP}: ${problems.size()} problems with the parameters:${LINE_BREAK}" +
            problems.collect { String problem -> "  - ${problem}" }.join(LINE_BREAK)
    }

    /**
     * The given parameters as plain values: text trimmed and as a String, switches as Booleans,
     * absent, null and blank values left out, and wharfPath defaulted.
     */
    @NonCPS
    static Map<String, Object> normalize(Map args) {
        Map<String, Object> given = [wharfPath: DEFAULT_WHARF_PATH]
        args.each { Object name, Object value ->
            if (TEXT_VARIABLES.containsKey(name) && value != null && value.toString().trim()) {
                given[(String) name] = value.toString().trim()
            } else if (SWITCH_FLAGS.containsKey(name) && value != null) {
                given[(String) name] = Boolean.valueOf(value.toString().trim())
            }
        }
        return given
    }

    /**
     * The environment for `withEnv`: `NAME=value` for each given parameter that has a variable,
     * and the step's names for wharf's flags and variables, so wharf's messages name the
     * parameters.
     */
    @NonCPS
    static List<String> environment(Map<String, Object> given) {
        return given.findAll { String name, Object value -> TEXT_VARIABLES[name] }
            .collect { String name, Object value -> "${TEXT_VARIABLES[name]}=${value}".toString() } +
            ["WHARF_OPTION_NAMES=${optionNames()}".toString()]
    }

    /** `WHARF_OPTION_NAMES`: each of wharf's flags or variables, `=`, the parameter it comes from. */
    @NonCPS
    static String optionNames() {
        List<String> pairs = ['control-plane=controlPlaneUrl']
        TEXT_VARIABLES.each { String name, String variable ->
            if (variable?.startsWith('WHARF_')) {
                pairs << "${variable}=${name}".toString()
                pairs << "${kebab(name)}=${name}".toString()
            }
        }
        SWITCH_FLAGS.each { String name, String flag -> pairs << "${flag.substring(2)}=${name}".toString() }
        PUSH_OPTION_ARGUMENTS.each { String name, List<String> arguments ->
            pairs << "${arguments[0].substring(2)}=${name}".toString()
        }
        return pairs.unique().join(',')
    }

    /**
     * The shell script. It is built from fixed text only; every value arrives through the
     * environment. The exit code is printed after wharf's JSON so the step can read both
     * from one `sh` call with `returnStdout` (a failing script would hide the JSON).
     */
    @NonCPS
    static String script(Map<String, Object> given) {
        List<String> command = ['"$WHARF_BIN_PATH"', '--output', 'json', 'register']
        SWITCH_FLAGS.each { String name, String flag ->
            if (given[name]) {
                command << flag
            }
        }
        if (given.refFrom == REF_FROM_TARGET) {
            command << '--ref-from' << REF_FROM_TARGET
        }
        PUSH_OPTION_ARGUMENTS.each { String name, List<String> arguments ->
            if (given[name]) {
                command.addAll(arguments)
            }
        }
        return [
            'status=0',
            command.join(' ') + ' || status=$?',
            'echo',
            'echo "' + RegisterOutcome.EXIT_MARKER + '$status"',
            '',
        ].join(LINE_BREAK)
    }

    @NonCPS
    private static List<String> unknownNames(Map args) {
        return args.keySet().findAll { Object name -> !NAMES.contains(name) }.collect { Object name ->
            "unknown parameter '${name}': ${hint(name.toString())}the parameters are ${NAMES.join(', ')}".toString()
        }
    }

    @NonCPS
    private static List<String> typeProblems(Map args) {
        List<String> found = []
        args.each { Object name, Object value ->
            if (value == null) {
                return
            }
            if (TEXT_VARIABLES.containsKey(name) && !(value instanceof CharSequence || value instanceof Number)) {
                found << "'${name}' must be text, got ${value.getClass().simpleName}".toString()
            }
            if (SWITCH_FLAGS.containsKey(name) && !isBoolean(value)) {
                found << "'${name}' must be true or false, got '${value}'".toString()
            }
        }
        return found
    }

    /** The step binds the credential itself (withCredentials): wharf never sees its id. */
    @NonCPS
    private static List<String> credentialProblems(Map<String, Object> given) {
        List<String> found = []
        if (!given.credentialsId && !given.tokenCredentialsId) {
            found << "'credentialsId' is required: the id of a 'Username with password' credential " +
                "holding the wharf username and token (or use 'tokenCredentialsId' with 'username')"
        }
        if (given.credentialsId && given.tokenCredentialsId) {
            found << "give 'credentialsId' (a 'Username with password' credential) or " +
                "'tokenCredentialsId' (a 'Secret text' credential), not both"
        }
        if (given.tokenCredentialsId && !given.username) {
            found << "'username' is required with 'tokenCredentialsId': the wharf user the token belongs to"
        }
        if (given.username && !given.tokenCredentialsId) {
            found << "'username' goes only with 'tokenCredentialsId': " +
                "a 'Username with password' credential ('credentialsId') carries its own username"
        }
        return found
    }

    /** refFrom chooses a fixed flag of the script: a value it does not know would be dropped unseen. */
    @NonCPS
    private static List<String> valueProblems(Map<String, Object> given) {
        return given.refFrom && !REF_FROM_VALUES.contains(given.refFrom) ?
            ["'refFrom' must be 'source' or 'target', got '${given.refFrom}'".toString()] : []
    }

    /** `gitRef` is wharf's `git-ref`. */
    @NonCPS
    private static String kebab(String name) {
        return name.replaceAll(/[A-Z]/) { String upper -> '-' + upper.toLowerCase() }
    }

    /** The value is never quoted: a token passed by mistake must not reach the log. */
    @NonCPS
    private static String hint(String unknownName) {
        if (TOKEN_NAMES.contains(squash(unknownName))) {
            return "the token comes only from a Jenkins credential: give its id as 'credentialsId' " +
                "(Username with password) or 'tokenCredentialsId' (Secret text). "
        }
        String known = NAMES.find { String valid -> squash(valid) == squash(unknownName) }
        return known ? "did you mean '${known}'? " : ''
    }

    @NonCPS
    private static boolean isBoolean(Object value) {
        return value instanceof Boolean || value.toString().trim() in ['true', 'false']
    }

    /** `control-plane-url`, `control_plane_url` and `controlplaneurl` all squash to one key. */
    @NonCPS
    private static String squash(String name) {
        return name.replaceAll('[-_ ]', '').toLowerCase()
    }

}
