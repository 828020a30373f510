package harness

// The fixtures are files of the repository: java.io is their job.
/* groovylint-disable JavaIoPackageAccess */

import groovy.json.JsonOutput
import groovy.json.JsonSlurperClassic

/**
 * A Jenkins multibranch build of `main`, its credential store, and wharf's answers: the JSON it
 * prints, read from tests/contract (written from real values by a Rust test), so a field wharf
 * renames or drops fails these tests.
 */
class Fixtures {

    static final String TOKEN = 'wharf-token-d9c41f7be2a04c55'
    static final String SECRET_TEXT_TOKEN = 'wharf-secret-text-53a1e0c6'
    static final String CREDENTIALS_ID = 'wharf-ci'
    static final String ROUTED = 'routed'
    static final String ERROR = 'error'

    /** wharf's outcome of a routed registration. */
    static final String REGISTERED = contract(ROUTED)
    static final String ARTIFACT_ID = parse(REGISTERED).artifactId
    /** The contract's error (two targets given), as wharf words it: the step adds nothing. */
    static final String ERROR_MESSAGE = parse(contract(ERROR)).error.message

    /** wharf's one line of a contract case, as the step logs it and puts it in the description. */
    static String line(String name) {
        return "wharf: ${parse(contract(name)).summary}"
    }

    /** tests/contract/NAME.json: what wharf prints for that case. */
    static String contract(String name) {
        File repoRoot = PipelineHarness.shimRoot().parentFile
        return new File(repoRoot, "tests/contract/${name}.json").text
    }

    /** A contract document with some of its fields changed; each must be one the contract has. */
    static String contractWith(String name, Map<String, Object> changes) {
        Map document = parse(contract(name))
        assert document.keySet().containsAll(changes.keySet()) : "not in the contract's ${name}.json: " +
            (changes.keySet() - document.keySet())
        return JsonOutput.prettyPrint(JsonOutput.toJson(document + changes))
    }

    /** wharf's error report (tests/contract/error.json) with another message, or as it is. */
    static String wharfError(String message = null) {
        Map document = parse(contract(ERROR))
        Map error = (Map) document.error
        assert error.keySet().containsAll(['exitCode', 'kind', 'message'])
        if (message != null) {
            error.message = message
        }
        return JsonOutput.prettyPrint(JsonOutput.toJson(document))
    }

    static Map parse(String json) {
        return (Map) new JsonSlurperClassic().parseText(json)
    }

    static PipelineHarness harness() {
        PipelineHarness harness = new PipelineHarness()
        harness.agentEnv.putAll(
            JENKINS_URL: 'https://jenkins.example.com/',
            JOB_NAME: 'shop/main',
            BUILD_NUMBER: '7',
            BUILD_TAG: 'jenkins-shop-main-7',
            BUILD_URL: 'https://jenkins.example.com/job/shop/job/main/7/',
            BRANCH_NAME: 'main',
            GIT_COMMIT: '0123456789abcdef0123456789abcdef01234567',
            PATH: '/usr/local/bin:/usr/bin:/bin',
        )
        harness.credentials[CREDENTIALS_ID] = [username: 'ci-bot', password: TOKEN]
        harness.credentials['wharf-token'] = [secret: SECRET_TEXT_TOKEN]
        return harness
    }

    /** The smallest complete set of parameters. */
    static Map<String, Object> args(Map<String, Object> overrides = [:]) {
        return [
            controlPlaneUrl: 'https://wharf.example.com',
            credentialsId: CREDENTIALS_ID,
            project: 'shop',
            service: 'api',
            image: 'registry.example.com/shop/api:1.4.2',
        ] + overrides
    }

    /** wharf's routed outcome with some fields changed. */
    static String registeredWith(Map<String, Object> changes) {
        return contractWith(ROUTED, changes)
    }

}
