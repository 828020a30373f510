// The driver runs sh in the build's workspace directory: java.io is its job.
/* groovylint-disable JavaIoPackageAccess */
import groovy.json.JsonOutput
import groovy.json.JsonSlurperClassic
import harness.PipelineHarness
import harness.StepFailure

/*
 * Runs wharfRegister as a Pipeline on a Jenkins agent would: this process's environment is the
 * build's environment (env, and the base of every `sh`), and `sh` is a real `sh -xe`.
 *
 *   groovy RunStep.groovy '{"project": "shop", ...}'     # the step's parameters, as JSON
 *
 * E2E_CREDENTIALS holds the Jenkins credential store as JSON, {"id": {"username", "password"}}
 * or {"id": {"secret"}}; it is taken out of the build's environment. Prints one JSON document:
 * {result, error, description, log, scripts}. Exits 0 either way; the caller asserts.
 */

Map<String, String> buildEnv = new HashMap<>(System.getenv())
String store = buildEnv.remove('E2E_CREDENTIALS') ?: '{}'

PipelineHarness pipeline = new PipelineHarness()
pipeline.agentEnv.putAll(buildEnv)
pipeline.credentials.putAll((Map) new JsonSlurperClassic().parseText(store))
pipeline.workspace = new File(buildEnv.WORKSPACE ?: '.')
pipeline.currentBuild.description = buildEnv.E2E_DESCRIPTION ?: null
pipeline.runShellForReal()

Map<String, Object> report = [result: null, error: null]
try {
    report.result = pipeline.runStep('wharfRegister', (Map) new JsonSlurperClassic().parseText(args[0]))
} catch (StepFailure failure) {
    report.error = failure.message
}
report.description = pipeline.currentBuild.description
report.log = pipeline.log
report.scripts = pipeline.shellCalls*.script
println JsonOutput.toJson(report)
