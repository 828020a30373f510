package io.wharf.jenkins

import com.cloudbees.groovy.cps.NonCPS
import groovy.json.JsonException
import groovy.json.JsonSlurperClassic

/**
 * Reads what the register script printed (wharf's JSON, then the exit-code line): wharf's own
 * line for the build log and the build's description (`summary`), and the step's failure.
 */
class RegisterOutcome {

    static final String EXIT_MARKER = 'wharf-exit-code: '
    static final int MAX_QUOTED_OUTPUT = 500

    /**
     * [exitCode: Integer or null when the script never got to print it,
     *  document: wharf's JSON document as a plain Map, empty when it printed none,
     *  output: what wharf printed, trimmed]
     */
    @NonCPS
    static Map<String, Object> parse(String stdout) {
        String text = stdout ?: ''
        int marker = text.lastIndexOf(EXIT_MARKER)
        String output = (marker < 0 ? text : text.substring(0, marker)).trim()
        String code = marker < 0 ? '' : text.substring(marker + EXIT_MARKER.length()).trim()
        return [
            exitCode: code ==~ /\d+/ ? code as Integer : null,
            document: jsonObject(output),
            output: output,
        ]
    }

    /** The step's error when wharf failed or printed no outcome; null when it succeeded. */
    @NonCPS
    static String failure(Map<String, Object> run, String wharfPath) {
        Integer exitCode = (Integer) run.exitCode
        Map document = (Map) run.document
        if (document.error instanceof Map) {
            Map error = (Map) document.error
            return "${RegisterParameters.STEP}: wharf register failed with exit code ${error.exitCode ?: exitCode} " +
                "(${error.kind}): ${error.message}"
        }
        if (exitCode == null) {
            return "${RegisterParameters.STEP}: the register script stopped before wharf's exit code was printed"
        }
        if (exitCode != 0) {
            return "${RegisterParameters.STEP}: '${wharfPath}' exited with code ${exitCode} and printed no JSON " +
                'outcome; its error is in the log above. Check that wharfPath names the wharf binary ' +
                '(a path, or a name on the agent\'s PATH)'
        }
        if (!document) {
            return "${RegisterParameters.STEP}: wharf succeeded but printed no JSON outcome: " +
                quote((String) run.output)
        }
        return null
    }

    /** wharf's one line of the outcome, for the build log and the build's description. */
    @NonCPS
    static String summary(Map outcome) {
        return "wharf: ${outcome.summary}"
    }

    /** Adds a line to the build's description, keeping what earlier steps wrote. */
    @NonCPS
    static String appendLine(String description, String line) {
        return description?.trim() ? "${description}\n${line}" : line
    }

    /** The JSON object in text; empty when text is not one. */
    @NonCPS
    private static Map jsonObject(String text) {
        Object parsed = [:]
        if (text.startsWith('{')) {
            try {
                parsed = new JsonSlurperClassic().parseText(text)
            } catch (JsonException ignored) {
                parsed = [:]
            }
        }
        return parsed instanceof Map ? (Map) parsed : [:]
    }

    @NonCPS
    private static String quote(String output) {
        if (!output) {
            return '(nothing)'
        }
        return output.length() > MAX_QUOTED_OUTPUT ? output.take(MAX_QUOTED_OUTPUT) + '...' : output
    }

}
