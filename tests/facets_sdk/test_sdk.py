"""Facets' own published client (facets-control-plane-sdk, generated from Facets' OpenAPI) against
a real `wharf serve`: every SDK method that maps to an endpoint wharf serves is called, and each
answer is deserialized into the SDK's strict models (a missing required field or an enum value the
model does not allow raises). See docs/control-plane.md for the compatibility table.

The tests share one server and run in file order: later ones read what earlier ones wrote."""

import json
import urllib.request

import pytest
import swagger_client as sdk
from swagger_client.rest import ApiException

PROJECT = "shop"


@pytest.fixture(scope="module")
def client(server):
    return server.client()


def api(client, cls):
    return cls(client)


def cluster_id(client, name):
    clusters = api(client, sdk.UiStackControllerApi).get_clusters(PROJECT)
    return next(c.id for c in clusters if c.name == name)


def wharf_call(server, method, path, body=None):
    """A wharf-only endpoint (no SDK method): users, members, tokens."""
    request = urllib.request.Request(
        server.url + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    import base64

    basic = base64.b64encode(f"admin:{server.token}".encode()).decode()
    request.add_header("Authorization", "Basic " + basic)
    with urllib.request.urlopen(request) as answer:
        text = answer.read()
        return json.loads(text) if text else None


def test_me(client):
    me = api(client, sdk.ApplicationControllerApi).me()
    assert isinstance(me, sdk.SimpleOauth2User)
    assert me.name == "admin"


def test_clusters(client):
    clusters = api(client, sdk.UiStackControllerApi).get_clusters(PROJECT)
    assert all(isinstance(c, sdk.AbstractCluster) for c in clusters)
    assert {c.name for c in clusters} == {"dev", "staging", "prod"}
    prod = api(client, sdk.UiCommonClusterControllerApi).get_cluster_common(
        cluster_id(client, "prod")
    )
    assert prod.release_stream == "PRODUCTION"
    assert prod.stack_name == PROJECT


def test_artifact_cis(client):
    cis = api(client, sdk.UiArtifactCiControllerApi)
    listed = cis.get_all_artifacts_ci()
    assert {"api", "web"} <= {ci.ci_name for ci in listed}
    assert all(ci.registration_type == "ENVIRONMENT" for ci in listed)
    of_stack = cis.get_artifact_cis_by_stack(PROJECT)
    assert {ci.ci_name for ci in of_stack} == {"api", "web"}

    created = cis.create_artifact_ci(
        sdk.ArtifactCI(ci_name="sdk-svc", registration_type="ENVIRONMENT", stack_name=PROJECT)
    )
    assert created.ci_name == "sdk-svc" and created.id
    assert cis.get_artifact_ci(created.id).ci_name == "sdk-svc"
    assert cis.get_artifact_ci_by_name("sdk-svc").id == created.id
    updated = cis.update_artifact_ci(
        sdk.ArtifactCI(ci_name="sdk-svc", registration_type="ENVIRONMENT", stack_name=PROJECT),
        created.id,
    )
    assert updated.id == created.id
    deleted = cis.delete_artifact_ci(created.id)
    assert deleted.ci_name == "sdk-svc", "a delete answers what it deleted"
    with pytest.raises(ApiException) as missing:
        cis.get_artifact_ci(created.id)
    assert missing.value.status == 404


def test_routing_rules(client):
    rules = api(client, sdk.UiArtifactRoutingRuleControllerApi)
    assert rules.get_all_operators() == ["EQUALS", "STARTS_WITH", "ENDS_WITH", "CONTAINS"]
    listed = rules.get_all_artifact_routing_rules(PROJECT, registration_type="ENVIRONMENT")
    default = next(r for r in listed if r.default)
    assert default.rule_name == "shop-branches"
    assert rules.get_artifact_routing_rule(default.id).id == default.id

    criterion = sdk.Criterion(
        metadata_key="BRANCH_NAME", operator="STARTS_WITH", value="hotfix/", route_to="prod",
        priority=1,
    )
    created = rules.add_artifact_routing_rule(
        sdk.ArtifactRoutingRuleRequest(
            rule_name="sdk-hotfixes", registration_type="ENVIRONMENT", criteria=[criterion],
            stack_name=PROJECT, is_default=False,
        )
    )
    assert created.rule_name == "sdk-hotfixes"
    assert created.criteria[0].route_to == "prod"
    updated = rules.update_artifact_routing_rule(
        sdk.ArtifactRoutingRuleRequest(
            id=created.id, rule_name="sdk-hotfixes-2", registration_type="ENVIRONMENT",
            criteria=[criterion], stack_name=PROJECT, is_default=False,
        )
    )
    assert updated.rule_name == "sdk-hotfixes-2"
    rules.delete_artifact_routing_rule(created.id)

    tested = rules.test_rule_for_branch_name([criterion], "hotfix/1")
    assert isinstance(tested, sdk.TestRuleResponse) and tested.route_to == "prod"


def test_ci_cd(client):
    ci_cd = api(client, sdk.UiCiCdControllerApi)
    details = ci_cd.get_ci_cd_details(PROJECT)
    assert isinstance(details, sdk.CiCdDto)
    assert details.registration_type == "ENVIRONMENT"
    assert [h.registration_value for h in details.promotion_hierarchies] == ["dev", "staging", "prod"]
    ci_cd.save_ci_cd_details(details)
    assert ci_cd.get_ci_cd_details(PROJECT).routing_rules == details.routing_rules

    attach = sdk.AttachDetachCiRequest(
        ci_name="web", registration_type="ENVIRONMENT", blueprint_name=PROJECT
    )
    ci_cd.detach_rule_and_workflow(attach)
    ci_cd.attach_rule_and_workflow(attach)


def registered(client, ci_name, uri):
    """The build of `uri` in the CI's list (Facets' register calls answer nothing)."""
    builds = api(client, sdk.UiArtifactCiControllerApi).get_artifacts_for_ci(ci_name)
    assert all(isinstance(b, sdk.CiArtifactResponse) for b in builds)
    return next(b for b in builds if b.artifact_uri == uri)


def test_registration_calls(client):
    ci_cd = api(client, sdk.UiCiCdControllerApi)
    artifacts = api(client, sdk.UiArtifactsControllerApi)
    ci_cd.register_artifact_saas(
        sdk.SaasArtifactRequest(
            blueprint_name=PROJECT, application_name="api", artifact_uri="r.example/shop/api:sdk1",
            external_id="sdk-1", artifactory="default", artifact_register_type="GIT_REF",
            artifact_register_value="main",
        )
    )
    saas = registered(client, "api", "r.example/shop/api:sdk1")
    assert saas.classified and saas.registration_value == cluster_id(client, "dev")

    artifacts.push_artifact(
        sdk.ArtifactRequest(
            application_name="api", artifact_uri="r.example/shop/api:sdk2", stack_name=PROJECT,
            metadata={"BRANCH_NAME": "release/1"}, external_id="sdk-2",
        )
    )
    assert registered(client, "api", "r.example/shop/api:sdk2").registration_value == cluster_id(
        client, "staging"
    )
    artifacts.register_artifact_v2(
        sdk.ArtifactRequest(
            application_name="api", artifact_uri="r.example/shop/api:sdk3", stack_name=PROJECT,
            cluster_id=cluster_id(client, "prod"),
        )
    )
    artifacts.register_artifact_by_env(
        sdk.ArtifactByEnvironmentRequest(
            application_name="web", artifact_uri="r.example/shop/web:sdk1", stack_name=PROJECT,
            cluster_name="dev",
        )
    )
    artifacts.register_artifact_by_release_stream(
        sdk.ArtifactByReleaseStreamRequest(
            application_name="web", artifact_uri="r.example/shop/web:sdk2", stack_name=PROJECT,
            release_stream="QA",
        )
    )
    by_stream = registered(client, "web", "r.example/shop/web:sdk2")
    assert by_stream.registration_value == "QA", "an environment CI registers into a stream"
    ci_cd.register_artifact_saas(
        sdk.SaasArtifactRequest(
            blueprint_name=PROJECT, application_name="web", artifact_uri="r.example/shop/web:sdk3",
            external_id="sdk-web-3", artifactory="default", artifact_register_type="RELEASE_STREAM",
            artifact_register_value="STAGING",
        )
    )
    assert registered(client, "web", "r.example/shop/web:sdk3").registration_value == "STAGING"


def test_builds_per_environment(client):
    artifacts = api(client, sdk.UiArtifactsControllerApi)
    dev = cluster_id(client, "dev")
    per_resource = artifacts.get_artifact_by_cluster_id(dev)
    assert isinstance(per_resource["service"]["api"], sdk.Artifact)
    assert per_resource["service"]["api"].artifact_uri == "r.example/shop/api:sdk1"
    newest = artifacts.get_artifact_by_application_name("api", dev)
    assert newest.artifact_uri == "r.example/shop/api:sdk1"
    same = artifacts.get_artifacts_by_resource_name_and_resource_type(dev, "service", "api")
    assert same.id == newest.id


def test_promotion_and_attach(client):
    artifacts = api(client, sdk.UiArtifactsControllerApi)
    cis = api(client, sdk.UiArtifactCiControllerApi)
    api_ci = cis.get_artifact_ci_by_name("api")
    build = registered(client, "api", "r.example/shop/api:sdk1")
    promoted = artifacts.promote_artifact(api_ci.id, build.artifact_id)
    assert isinstance(promoted, sdk.Artifact)
    assert promoted.registration_value == cluster_id(client, "staging")
    again = artifacts.promote_artifact_by_artifact_ci_name("api", promoted.id)
    assert again.registration_value == cluster_id(client, "prod")
    artifacts.reclassify_artifacts(api_ci.id)

    artifacts.attach_image_via_register(
        sdk.ImageOverrideRequest(
            resource_name="api", resource_type="service", blueprint_name=PROJECT, ci_name="api",
            artifact_uri="r.example/shop/api:pinned", registration_type="ENVIRONMENT",
            registration_value="staging",
        )
    )
    pinned = artifacts.get_artifact_by_application_name("api", cluster_id(client, "staging"))
    assert pinned.artifact_uri == "r.example/shop/api:pinned"
    artifacts.delete_artifact(pinned.id)


def test_push_credentials(client):
    ci_cd = api(client, sdk.UiCiCdControllerApi)
    artifacts = api(client, sdk.UiArtifactsControllerApi)
    credentials = ci_cd.generate_artifact_push_credentials(
        sdk.PushCredentialsRequest(blueprint_name=PROJECT, artifactory="default", application_name="api")
    )
    assert isinstance(credentials, sdk.PushCredentialsResponse)
    assert credentials.repository_uri.endswith("/shop/api")
    v2 = artifacts.generate_artifact_push_credentials_v2("api", "ENVIRONMENT", "dev")
    assert isinstance(v2, sdk.ECRAuthorizationData) and v2.authorization_token
    v3 = artifacts.generate_artifact_push_credentials_v3("api", "main")
    assert v3.proxy_endpoint.startswith("http://")


def test_workflows(client):
    workflows = api(client, sdk.UiPromotionWorkflowControllerApi)
    default = workflows.get_default_workflow("ENVIRONMENT", stack_name=PROJECT)
    assert isinstance(default, sdk.PromotionWorkflow)
    assert default.default_workflow and default.workflow_name
    assert default.id in {w.id for w in workflows.get_all_workflows()}
    assert default.id in {w.id for w in workflows.get_workflows_by_stack(PROJECT)}
    specific = workflows.get_registration_specific_workflows("ENVIRONMENT", stack_name=PROJECT)
    assert default.id in {w.id for w in specific}
    assert workflows.get_workflow(default.id).workflow_name == default.workflow_name

    stages = [sdk.WorkflowHierarchy(sequence=1, registration_value="dev"),
              sdk.WorkflowHierarchy(sequence=2, registration_value="prod")]
    created = workflows.create_workflow(
        sdk.PromotionWorkflow(workflow_name="sdk-fast", hierarchies=stages,
                              registration_type="ENVIRONMENT", stack_name=PROJECT)
    )
    assert created.workflow_name == "sdk-fast" and not created.default_workflow
    web = api(client, sdk.UiArtifactCiControllerApi).get_artifact_ci_by_name("web")
    api(client, sdk.UiArtifactCiControllerApi).bulk_edit_workflow(
        sdk.BulkWorkflowAttachRequest(workflow_id=created.id, artifact_ci_ids=[web.id])
    )
    assert api(client, sdk.UiArtifactCiControllerApi).get_artifact_ci(web.id).promotion_workflow_id == created.id
    api(client, sdk.UiCiCdControllerApi).attach_rule_and_workflow(
        sdk.AttachDetachCiRequest(ci_name="web", registration_type="ENVIRONMENT", blueprint_name=PROJECT)
    )
    updated = workflows.update_workflow(
        sdk.PromotionWorkflow(workflow_name="sdk-fast-2", hierarchies=stages,
                              registration_type="ENVIRONMENT", stack_name=PROJECT),
        created.id,
    )
    assert updated.workflow_name == "sdk-fast-2"
    deleted = workflows.delete_workflow(created.id)
    assert deleted.id == created.id, "a delete answers what it deleted"


def test_release_streams(client):
    streams = api(client, sdk.UiReleaseStreamControllerApi)
    of_shop = streams.get_all1(stack_name=PROJECT)
    assert all(isinstance(s, sdk.ReleaseStreamResponse) for s in of_shop)
    qa = next(s for s in of_shop if s.name == "QA")
    assert qa.mapped_cluster_names == ["dev"] and qa.built_in
    created = streams.add1(sdk.ReleaseStream(name="SDKHOTFIX", description="from the SDK"))
    assert created.name == "SDKHOTFIX"
    assert "SDKHOTFIX" in {s.name for s in streams.get_all1()}, "account-wide, as in Facets"
    streams.delete2("SDKHOTFIX")
    assert "SDKHOTFIX" not in {s.name for s in streams.get_all1(stack_name=PROJECT)}


def test_artifactories(client):
    registries = api(client, sdk.UiArtifactoryControllerApi)
    built_in = registries.get_artifactory_by_name("default")
    assert isinstance(built_in, sdk.Artifactory) and built_in.system_defined
    created = registries.create_basic_docker_artifactory(
        sdk.BasicDockerArtifactory(name="sdk-mirror", uri="registry.example.com:5000/team",
                                   username="robot", password="not-shown", artifactory_type="OTHERS")
    )
    assert isinstance(created, sdk.BasicDockerArtifactory)
    assert created.password != "not-shown", "the password is never answered"
    assert {"default", "sdk-mirror"} <= {a.name for a in registries.get_all_artifactories()}
    assert {"default", "sdk-mirror"} <= {a.name for a in registries.get_all_artifactories_for_stack(PROJECT)}


def test_audit_log_parses_with_every_kind_of_entry(server, client):
    # wharf-only changes, so their entries are on the page too.
    wharf_call(server, "POST", "/wharf/v1/users", {"username": "sdk-bot"})
    wharf_call(server, "PUT", f"/wharf/v1/projects/{PROJECT}/members/sdk-bot", {"role": "ci"})
    created = wharf_call(server, "POST", "/wharf/v1/tokens", {"username": "sdk-bot", "name": "sdk"})
    wharf_call(server, "DELETE", f"/wharf/v1/tokens/{created['id']}")
    wharf_call(server, "POST", "/wharf/v1/roles", {"name": "sdk-role", "permissions": ["ARTIFACTS_WRITE"]})

    audit = api(client, sdk.UiAuditLogsControllerApi)
    page = audit.get_audit_logs("2000-01-01", size=1000)
    assert isinstance(page, sdk.PageFacetsAuditLogResponse)
    assert page.total_elements == len(page.content) > 0
    mapped = {e.metadata.get("wharfAction") for e in page.content if e.metadata}
    for action in ["ARTIFACT_REGISTER", "ARTIFACT_PROMOTE", "ARTIFACT_ATTACH", "ARTIFACT_DELETE",
                   "TOKEN_CREATE", "TOKEN_REVOKE", "MEMBER_SET", "ROLE_SAVE", "PROJECT_APPLY",
                   "CONTAINER_REGISTRY_CREDENTIALS_ISSUE"]:
        assert action in mapped, f"{action} reaches Facets' clients, named in metadata"
    filtered = audit.get_audit_logs("2000-01-01", entity=["CI_RULE"], size=100)
    assert {e.entity for e in filtered.content} == {"CI_RULE"}
