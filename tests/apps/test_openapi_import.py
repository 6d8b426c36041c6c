"""Deriving an app from small OpenAPI documents of each style, and the requests it then makes."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from weft.apps.calls import build_request
from weft.apps.model import AppDefinition, KeyAuth, NoAuth, OAuth2Auth
from weft.apps.openapi import InvalidDocument, Pick, diff_definitions, import_document
from weft.apps.openapi.diff import keep_deprecated
from weft.errors import InvalidInput

pytestmark = pytest.mark.unit


def doc(paths: dict[str, Any], *, version: str = "3.0.3", **extra: Any) -> dict[str, Any]:
    return {
        "openapi": version,
        "info": {"title": "Acme API", "version": "2.1", "license": {"name": "MIT"}},
        "servers": [{"url": "https://api.acme.test/v1"}],
        "paths": paths,
        **extra,
    }


OK = {"200": {"description": "ok"}}

PETS_YAML = """
openapi: 3.0.3
info: {title: Pet Store, version: "1.0"}
servers:
  - url: https://{region}.pets.test/v1
    variables:
      region: {default: eu, enum: [eu, us]}
paths:
  /pets:
    get:
      operationId: listPets
      tags: [pets]
      parameters:
        - {name: limit, in: query, schema: {type: integer, maximum: 100, default: 20}}
        - {name: 'page[size]', in: query, schema: {type: integer}}
        - {name: tags, in: query, explode: false, schema: {type: array, items: {type: string}}}
        - {name: X-Request-ID, in: header, description: Trace id, schema: {type: string}}
      responses:
        200:
          description: ok
          content:
            application/json:
              schema: {type: array, items: {$ref: '#/components/schemas/Pet'}}
    post:
      operationId: createPet
      tags: [admin]
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/NewPet'}
      responses:
        '201': {description: made}
  /pets/{pet-id}:
    parameters:
      - {name: pet-id, in: path, required: true, schema: {type: string}}
    get:
      operationId: getPet
      responses: {'200': {description: ok}}
    head:
      responses: {'200': {description: ok}}
components:
  schemas:
    NewPet:
      type: object
      required: [name]
      properties:
        name: {type: string, description: The name}
        kind: {type: string, enum: [cat, dog], nullable: true}
        born: {type: string, format: date}
        id: {type: integer, readOnly: true}
    Pet:
      allOf:
        - $ref: '#/components/schemas/NewPet'
        - type: object
          properties:
            parent: {$ref: '#/components/schemas/Pet'}
"""


def pets() -> AppDefinition:
    return import_document(PETS_YAML).definition


def test_yaml_30_document_gives_one_action_per_callable_operation() -> None:
    derived = import_document(PETS_YAML)
    definition = derived.definition
    assert [a.name for a in definition.actions] == ["list_pets", "create_pet", "get_pet"]
    assert [a.effect for a in definition.actions] == ["read", "write", "read"]
    assert any("HEAD" in warning for warning in derived.warnings)
    assert definition.source is not None and definition.source.openapi == "3.0.3"
    assert definition.source.sha256 and definition.source.version == "1.0"


def test_query_header_and_renamed_parameters_keep_their_wire_names() -> None:
    action = pets().action("list_pets")
    assert action is not None
    props = action.parameters["properties"]
    assert props["limit"] == {"type": "integer", "maximum": 100, "default": 20}
    assert set(props) == {"limit", "page_size", "tags", "x_request_id"}
    assert props["x_request_id"]["description"] == "Trace id"
    assert action.query == ["limit", "page_size", "tags"]
    assert action.header_params == ["x_request_id"]
    assert action.wire_names == {"page_size": "page[size]", "x_request_id": "X-Request-ID"}
    assert action.query_styles == {"tags": "comma"}


def test_derived_action_builds_the_request_the_document_describes() -> None:
    definition = pets()
    action = definition.action("list_pets")
    assert action is not None
    params = {"limit": 5, "page_size": 2, "tags": ["a", "b"], "x_request_id": "r1"}
    request = build_request(definition, action, params, {"fields": {"api": "x"}})
    assert request.url == "https://eu.pets.test/v1/pets"  # the server variable's default
    assert request.query == {"limit": "5", "page[size]": "2", "tags": "a,b"}
    assert request.headers["X-Request-ID"] == "r1"
    assert request.json is None and request.content is None


def test_server_variables_become_non_secret_connection_fields_with_defaults() -> None:
    definition = pets()
    assert isinstance(definition.auth, KeyAuth)
    (region,) = definition.auth.fields
    assert (region.name, region.default, region.secret, region.type) == (
        "region",
        "eu",
        False,
        "text",
    )
    assert definition.base_url == "https://{region}.pets.test/v1"
    action = definition.action("get_pet")
    assert action is not None
    request = build_request(definition, action, {"pet_id": "a/b"}, {"fields": {"region": "us"}})
    assert request.url == "https://us.pets.test/v1/pets/a%2Fb"


def test_object_body_is_flattened_nullable_and_read_only_handled() -> None:
    action = pets().action("create_pet")
    assert action is not None and action.body_param is None
    props = action.parameters["properties"]
    assert set(props) == {"name", "kind", "born"}  # readOnly id is not sent
    assert props["kind"] == {"type": ["string", "null"], "enum": ["cat", "dog", None]}
    assert props["born"]["format"] == "date"
    assert action.parameters["required"] == ["name"]


def test_recursive_schema_is_cut_at_the_repeat() -> None:
    definition = import_document(PETS_YAML).definition
    output = definition.action("list_pets").output  # type: ignore[union-attr]
    parent = output["items"]["allOf"][1]["properties"]["parent"]
    assert "recursive" in parent["description"] and "allOf" not in parent
    assert len(json.dumps(output)) < 2000


def test_operations_and_tags_pick_a_subset_with_curated_names() -> None:
    only = import_document(PETS_YAML, tags=["admin"]).definition
    assert [a.name for a in only.actions] == ["create_pet"]
    picks = [Pick(operation="GET /pets/{pet-id}", name="fetch_pet", label="Fetch a pet")]
    picked = import_document(PETS_YAML, picks=picks).definition
    assert [(a.name, a.label) for a in picked.actions] == [("fetch_pet", "Fetch a pet")]
    with pytest.raises(InvalidInput, match="no operation nope"):
        import_document(PETS_YAML, picks=[Pick(operation="nope")])


def test_body_clashing_with_a_parameter_stays_one_body_parameter() -> None:
    document = doc(
        {
            "/items/{id}": {
                "put": {
                    "operationId": "replaceItem",
                    "parameters": [
                        {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {"id": {"type": "string"}},
                                }
                            }
                        },
                    },
                    "responses": OK,
                }
            }
        },
        version="3.1.0",
    )
    definition = import_document(json.dumps(document)).definition
    action = definition.action("replace_item")
    assert action is not None and action.body_param == "body"
    assert action.parameters["required"] == ["id", "body"]
    request = build_request(definition, action, {"id": "7", "body": {"id": "7"}}, None)
    assert request.url.endswith("/items/7") and request.json == {"id": "7"}


def test_form_body_with_dashed_names_goes_out_under_its_wire_names() -> None:
    form = {
        "type": "object",
        "properties": {"first-name": {"type": "string"}, "age": {"type": "integer"}},
    }
    document = doc(
        {
            "/people": {
                "post": {
                    "operationId": "addPerson",
                    "requestBody": {
                        "content": {"application/x-www-form-urlencoded": {"schema": form}}
                    },
                    "responses": OK,
                }
            }
        }
    )
    definition = import_document(document).definition
    action = definition.action("add_person")
    assert action is not None and action.body_format == "form"
    request = build_request(definition, action, {"first_name": "Ann", "age": 3}, None)
    assert request.content == b"first-name=Ann&age=3"


def test_post_without_body_sends_none_and_multipart_is_skipped() -> None:
    multipart = {
        "content": {"multipart/form-data": {"schema": {"type": "object"}}},
        "required": True,
    }
    document = doc(
        {
            "/ping": {"post": {"operationId": "ping", "responses": OK}},
            "/upload": {
                "post": {"operationId": "upload", "requestBody": multipart, "responses": OK}
            },
        }
    )
    derived = import_document(document)
    assert [a.name for a in derived.definition.actions] == ["ping"]
    assert any("POST /upload skipped" in w and "multipart" in w for w in derived.warnings)
    ping = derived.definition.actions[0]
    request = build_request(derived.definition, ping, {}, None)
    assert request.json is None and request.content is None


def security_doc(schemes: dict[str, Any], security: list[dict[str, list[str]]]) -> dict[str, Any]:
    return doc(
        {"/me": {"get": {"operationId": "me", "responses": OK}}},
        components={"securitySchemes": schemes},
        security=security,
    )


@pytest.mark.parametrize(
    ("scheme", "where"),
    [
        ({"type": "apiKey", "in": "header", "name": "X-Key"}, ("headers", "X-Key", "k1")),
        ({"type": "apiKey", "in": "query", "name": "key"}, ("query", "key", "k1")),
        ({"type": "apiKey", "in": "cookie", "name": "sid"}, ("headers", "cookie", "sid=k1")),
        ({"type": "http", "scheme": "bearer"}, ("headers", "authorization", "Bearer k1")),
    ],
)
def test_api_key_and_bearer_schemes_put_the_key_where_the_document_says(
    scheme: dict[str, Any], where: tuple[str, str, str]
) -> None:
    definition = import_document(security_doc({"main": scheme}, [{"main": []}])).definition
    assert isinstance(definition.auth, KeyAuth)
    (field,) = definition.auth.fields
    request = build_request(definition, definition.actions[0], {}, {"fields": {field.name: "k1"}})
    place, name, value = where
    assert getattr(request, place)[name] == value


def test_basic_scheme_asks_username_and_password() -> None:
    scheme = {"type": "http", "scheme": "basic"}
    definition = import_document(security_doc({"b": scheme}, [{"b": []}])).definition
    assert isinstance(definition.auth, KeyAuth) and definition.auth.basic is not None
    creds = {"fields": {"username": "u", "password": "p"}}
    request = build_request(definition, definition.actions[0], {}, creds)
    assert request.headers["authorization"] == "Basic dTpw"


def test_oauth2_authorization_code_is_preferred_with_the_scopes_operations_need() -> None:
    flows = {
        "authorizationCode": {
            "authorizationUrl": "https://acme.test/oauth/authorize",
            "tokenUrl": "/oauth/token",
            "scopes": {"read": "r", "write": "w", "admin": "a"},
        }
    }
    schemes = {"key": {"type": "apiKey", "in": "header", "name": "X-Key"}}
    schemes["oauth"] = {"type": "oauth2", "flows": flows}
    definition = import_document(security_doc(schemes, [{"key": []}, {"oauth": ["read"]}]))
    auth = definition.definition.auth
    assert isinstance(auth, OAuth2Auth) and auth.grant == "authorization_code"
    assert auth.scopes == ["read"]
    assert auth.token_url == "https://api.acme.test/oauth/token"  # RFC 3986 resolution


def test_client_credentials_becomes_a_typed_form_that_fetches_tokens() -> None:
    flows = {"clientCredentials": {"tokenUrl": "https://acme.test/token", "scopes": {"x": ""}}}
    schemes = {"cc": {"type": "oauth2", "flows": flows}}
    definition = import_document(security_doc(schemes, [{"cc": ["x"]}])).definition
    auth = definition.auth
    assert isinstance(auth, OAuth2Auth) and auth.grant == "client_credentials"
    assert definition.auth_type == "keybased"
    assert [f.name for f in definition.form_fields] == ["client_id", "client_secret"]
    request = build_request(definition, definition.actions[0], {}, {"access_token": "t"})
    assert request.headers["authorization"] == "Bearer t"


def test_no_security_gives_a_keyless_app() -> None:
    definition = import_document(doc({"/a": {"get": {"responses": OK}}})).definition
    assert isinstance(definition.auth, NoAuth)
    assert definition.actions[0].name == "get_a"


def test_31_document_with_ref_siblings_and_type_lists() -> None:
    document = doc(
        {
            "/n": {
                "get": {
                    "operationId": "node",
                    "parameters": [
                        {
                            "name": "q",
                            "in": "query",
                            "schema": {"type": ["string", "null"], "pattern": "(?=x)"},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Node"}
                                }
                            },
                        }
                    },
                }
            }
        },
        version="3.1.0",
        components={
            "schemas": {
                "Node": {
                    "type": "object",
                    "properties": {
                        "next": {"$ref": "#/components/schemas/Node", "description": "Next one"}
                    },
                }
            }
        },
    )
    derived = import_document(document)
    action = derived.definition.actions[0]
    assert action.parameters["properties"]["q"] == {"type": ["string", "null"]}
    assert any("RE2" in warning for warning in derived.warnings)
    assert action.output["properties"]["next"]["type"] == "object"


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("not: [valid", "neither JSON nor YAML"),
        ("[1, 2]", "not an OpenAPI object"),
        ('{"swagger": "2.0"}', "Swagger 2.0"),
        ('{"hello": 1}', "no `openapi` field"),
        ('{"openapi": "3.0.3", "info": {}}', "not valid OpenAPI"),
        (json.dumps(doc({"/a": {"get": {"responses": {"200": {"$ref": "#/nope"}}}}})), "$ref"),
        (
            json.dumps(doc({"/a": {"get": {"responses": {"200": {"$ref": "http://x/y"}}}}})),
            "$ref",
        ),
    ],
)
def test_bad_documents_are_refused_with_the_reason(raw: str, says: str) -> None:
    with pytest.raises(InvalidDocument) as refused:
        import_document(raw)
    assert says in refused.value.message
    assert refused.value.status_code == 400


def test_yaml_bomb_is_refused_before_it_expands() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    with pytest.raises(InvalidDocument, match="expands to more than"):
        import_document("\n".join(lines))


def test_yaml_dates_and_integer_keys_stay_json() -> None:
    text = yaml.safe_dump(doc({"/a": {"get": {"responses": OK}}})).replace("'200'", "200")
    text = text.replace("version: '2.1'", "version: 2024-01-01")
    definition = import_document(text).definition
    assert definition.source is not None and definition.source.version == "2024-01-01"


def test_diff_and_deprecation_keep_removed_actions_a_live_workflow_uses() -> None:
    old = pets()
    new = import_document(PETS_YAML, picks=[Pick(operation="listPets")]).definition
    changed = new.model_copy(
        update={"actions": [new.actions[0].model_copy(update={"label": "All pets"})]}
    )
    diff = diff_definitions(old, changed)
    assert (diff.added, diff.changed, diff.removed) == (
        [],
        ["list_pets"],
        ["create_pet", "get_pet"],
    )
    kept = keep_deprecated(old, changed, {"get_pet"})
    assert [(a.name, a.deprecated) for a in kept.actions] == [
        ("list_pets", False),
        ("get_pet", True),
    ]


API_KEY = {"type": "apiKey", "in": "header", "name": "DD-API-KEY"}
APP_KEY = {"type": "apiKey", "in": "header", "name": "DD-APPLICATION-KEY"}
CODE_FLOW = {
    "type": "oauth2",
    "flows": {"authorizationCode": {"authorizationUrl": "/a", "tokenUrl": "/t", "scopes": {}}},
}


def secured(security: list[dict[str, list[str]]]) -> dict[str, Any]:
    return {"security": security, "responses": OK}


def test_the_scheme_most_operations_accept_wins_and_two_keys_go_out_together() -> None:
    # Datadog: OAuth2 ranks first, but one operation takes only the API key; the key pair
    # (both headers sent) serves every operation, so it is chosen over OAuth2.
    both = [{"api": [], "app": []}, {"oauth": ["read"]}]
    document = doc(
        {
            "/events": {
                "get": {"operationId": "listEvents", **secured(both)},
                "post": {"operationId": "createEvent", **secured([{"api": []}])},
            }
        },
        components={"securitySchemes": {"api": API_KEY, "app": APP_KEY, "oauth": CODE_FLOW}},
    )
    definition = import_document(document).definition
    assert isinstance(definition.auth, KeyAuth)
    assert [a.name for a in definition.actions] == ["list_events", "create_event"]
    fields = {f.name: f"v-{f.name}" for f in definition.auth.fields}
    request = build_request(definition, definition.actions[1], {}, {"fields": fields})
    assert request.headers["DD-API-KEY"] == "v-api"
    assert request.headers["DD-APPLICATION-KEY"] == "v-app"


def test_an_operation_the_chosen_credentials_cannot_call_is_skipped() -> None:
    # BambooHR: as many operations take OAuth2 as Basic; OAuth2 ranks first, and the one
    # operation that takes only Basic would always be refused, so it is left out.
    document = doc(
        {
            "/a": {"get": {"operationId": "onlyBasic", **secured([{"basic": []}])}},
            "/b": {"get": {"operationId": "onlyOauth", **secured([{"oauth": []}])}},
            "/c": {"get": {"operationId": "either", **secured([{"basic": []}, {"oauth": []}])}},
        },
        components={
            "securitySchemes": {"basic": {"type": "http", "scheme": "basic"}, "oauth": CODE_FLOW}
        },
    )
    derived = import_document(document)
    assert isinstance(derived.definition.auth, OAuth2Auth)
    assert [a.name for a in derived.definition.actions] == ["only_oauth", "either"]
    assert any("GET /a skipped" in w and "security" in w for w in derived.warnings)


def test_a_query_array_of_objects_is_not_sent_and_a_nullable_array_keeps_its_style() -> None:
    # Box's `mdfilters`: OpenAPI defines no way to write an array of objects in a query.
    objects = {"type": "array", "items": {"type": "object", "properties": {"a": {}}}}
    nullable = {"anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}]}
    parameters = [
        {"name": "mdfilters", "in": "query", "schema": objects},
        {"name": "sources", "in": "query", "explode": False, "schema": nullable},
    ]
    operation = {"operationId": "search", "parameters": parameters, **OK_}
    derived = import_document(doc({"/s": {"get": operation}}, version="3.1.0"))
    (action,) = derived.definition.actions
    assert action.query == ["sources"] and action.query_styles == {"sources": "comma"}
    assert any("'mdfilters'" in w and "not sent" in w for w in derived.warnings)
    required = [{**parameters[0], "required": True}]
    document = doc({"/s": {"get": {"operationId": "search", "parameters": required, **OK_}}})
    with pytest.raises(InvalidDocument, match="array of non-primitives"):
        import_document(document)


def test_a_required_name_stays_required_unless_the_server_sets_it() -> None:
    # Apideck's `id` is readOnly (behind a $ref) and required: not asked for in a request.
    # Box's lock requires `type` it never declares: JSON Schema still requires it.
    body = {
        "type": "object",
        "required": ["id", "lock"],
        "properties": {
            "id": {"$ref": "#/components/schemas/Id"},
            "lock": {"type": "object", "required": ["type"], "properties": {"a": {}}},
        },
    }
    content = {"content": {"application/json": {"schema": body}}}
    operation = {"operationId": "make", "requestBody": content, **OK_}
    document = doc(
        {"/m": {"post": operation}},
        components={"schemas": {"Id": {"type": "string", "readOnly": True}}},
    )
    (action,) = import_document(document).definition.actions
    assert action.parameters["required"] == ["lock"]
    assert "id" not in action.parameters["properties"]
    assert action.parameters["properties"]["lock"]["required"] == ["type"]


OK_ = {"responses": OK}


def test_a_json_body_goes_out_under_the_media_type_the_document_names() -> None:
    # Klaviyo (JSON:API) takes only `application/vnd.api+json`.
    schema = {"type": "object", "properties": {"data": {"type": "object"}}}
    content = {"content": {"application/vnd.api+json": {"schema": schema}}}
    document = doc({"/p": {"post": {"operationId": "make", "requestBody": content, **OK_}}})
    definition = import_document(document).definition
    request = build_request(definition, definition.actions[0], {"data": {}}, None)
    assert request.headers["content-type"] == "application/vnd.api+json"
    assert request.json == {"data": {}}
