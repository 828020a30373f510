import static harness.Fixtures.args

import harness.Fixtures
import harness.PipelineHarness
import io.wharf.jenkins.RegisterParameters
import org.junit.Before
import org.junit.Test

/** Each parameter reaches wharf as its WHARF_* variable, through withEnv. */
class ArgumentMappingTest {

    private PipelineHarness pipeline

    @Before
    void setUp() {
        pipeline = Fixtures.harness()
        pipeline.replyWith(0, Fixtures.REGISTERED)
    }

    @Test
    void everyTextParameterBecomesItsWharfVariable() {
        pipeline.runStep('wharfRegister', args(
            ciName: 'api-ci', gitRef: 'release/1.4', externalId: 'build-77', registry: 'ecr',
            description: 'nightly', wharfPath: '/opt/wharf/bin/wharf'))

        Map<String, String> env = pipeline.lastShellCall().env
        assert env.subMap(env.keySet().findAll { String name -> name.startsWith('WHARF_') }) == [
            WHARF_USERNAME: 'ci-bot',
            WHARF_TOKEN: Fixtures.TOKEN,
            WHARF_CONTROL_PLANE_URL: 'https://wharf.example.com',
            WHARF_PROJECT: 'shop',
            WHARF_SERVICE: 'api',
            WHARF_CI_NAME: 'api-ci',
            WHARF_IMAGE: 'registry.example.com/shop/api:1.4.2',
            WHARF_GIT_REF: 'release/1.4',
            WHARF_EXTERNAL_ID: 'build-77',
            WHARF_REGISTRY: 'ecr',
            WHARF_DESCRIPTION: 'nightly',
            WHARF_BIN_PATH: '/opt/wharf/bin/wharf',
            WHARF_OPTION_NAMES: RegisterParameters.optionNames(),
        ]
    }

    @Test
    void wharfIsToldTheParametersNamesForItsFlagsAndVariables() {
        List<String> pairs = RegisterParameters.optionNames().split(',') as List<String>

        assert pairs.containsAll(['git-ref=gitRef', 'WHARF_GIT_REF=gitRef', 'control-plane=controlPlaneUrl',
            'WHARF_CONTROL_PLANE_URL=controlPlaneUrl', 'require-route=requireRoute', 'tag=tag',
            'WHARF_PUSH_TAG=tag', 'ci-name=ciName'])
        assert pairs.every { String pair -> pair ==~ /[A-Za-z0-9_-]+=[A-Za-z]+/ }
    }

    @Test
    void environmentAndReleaseStreamBecomeTheirVariables() {
        pipeline.runStep('wharfRegister', args(environment: 'qa'))
        assert pipeline.lastShellCall().env.WHARF_ENVIRONMENT == 'qa'

        pipeline.runStep('wharfRegister', args(releaseStream: 'stable'))
        assert pipeline.lastShellCall().env.WHARF_RELEASE_STREAM == 'stable'
    }

    @Test
    void absentParametersSetNothingAndWharfPathDefaultsToWharf() {
        pipeline.runStep('wharfRegister', args())

        Map<String, String> env = pipeline.lastShellCall().env
        assert env.WHARF_BIN_PATH == 'wharf'
        ['WHARF_GIT_REF', 'WHARF_ENVIRONMENT', 'WHARF_RELEASE_STREAM', 'WHARF_EXTERNAL_ID', 'WHARF_REGISTRY',
         'WHARF_DESCRIPTION', 'WHARF_CI_NAME'].each { String name -> assert !env.containsKey(name) }
    }

    @Test
    void gstringsNumbersAndSurroundingWhitespaceAreNormalised() {
        String tag = '1.4.2'
        pipeline.runStep('wharfRegister', args(image: "registry.example.com/shop/api:${tag}\n", externalId: 42,
            project: '  shop '))

        Map<String, String> env = pipeline.lastShellCall().env
        assert env.WHARF_IMAGE == 'registry.example.com/shop/api:1.4.2'
        assert env.WHARF_EXTERNAL_ID == '42'
        assert env.WHARF_PROJECT == 'shop'
    }

    @Test
    void nullAndBlankOptionalParametersCountAsAbsent() {
        pipeline.runStep('wharfRegister', args(gitRef: null, releaseStream: '  ', environment: 'qa'))

        Map<String, String> env = pipeline.lastShellCall().env
        assert env.WHARF_ENVIRONMENT == 'qa'
        assert !env.containsKey('WHARF_GIT_REF')
        assert !env.containsKey('WHARF_RELEASE_STREAM')
    }

    @Test
    void controlPlaneUrlMayComeFromTheJobEnvironment() {
        pipeline.agentEnv.WHARF_CONTROL_PLANE_URL = 'https://wharf.internal'
        Map<String, Object> withoutUrl = args()
        withoutUrl.remove('controlPlaneUrl')

        pipeline.runStep('wharfRegister', withoutUrl)

        assert pipeline.lastShellCall().env.WHARF_CONTROL_PLANE_URL == 'https://wharf.internal'
    }

    @Test
    void jenkinsVariablesAreLeftForWharfToDetect() {
        pipeline.runStep('wharfRegister', args())

        Map<String, String> env = pipeline.lastShellCall().env
        assert env.BRANCH_NAME == 'main'
        assert env.BUILD_TAG == 'jenkins-shop-main-7'
        assert !env.containsKey('WHARF_GIT_REF')
        assert !env.containsKey('WHARF_EXTERNAL_ID')
    }

}
