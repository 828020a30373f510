package harness

/** A Jenkins multibranch build of `main`, its credential store, and wharf's canned answers. */
class Fixtures {

    static final String TOKEN = 'wharf-token-d9c41f7be2a04c55'
    static final String SECRET_TEXT_TOKEN = 'wharf-secret-text-53a1e0c6'
    static final String ARTIFACT_ID = '1d5ae04f490b4bf8bbd7cdf300349a2b'
    static final String CREDENTIALS_ID = 'wharf-ci'

    static final String REGISTERED = '''{
  "artifactId": "1d5ae04f490b4bf8bbd7cdf300349a2b",
  "artifactUri": "registry.example.com/shop/api:1.4.2",
  "ciName": "api",
  "classified": true,
  "controlPlane": "https://wharf.example.com",
  "externalId": "jenkins-shop-main-7",
  "project": "shop",
  "registeredBy": "GIT_REF",
  "registeredValue": "main",
  "registrationType": "ENVIRONMENT",
  "replayed": false,
  "routedTo": "dev",
  "ruleName": "shop-branches"
}'''

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

    /** wharf's outcome with some fields changed. */
    static String registeredWith(Map<String, Object> changes) {
        Map document = new groovy.json.JsonSlurperClassic().parseText(REGISTERED) as Map
        return groovy.json.JsonOutput.prettyPrint(groovy.json.JsonOutput.toJson(document + changes))
    }

    static String wharfError(int exitCode, String kind, String message) {
        return groovy.json.JsonOutput.prettyPrint(groovy.json.JsonOutput.toJson(
            [error: [exitCode: exitCode, kind: kind, message: message]]))
    }

}
