"""The component's wiring, edge by edge, as the engine would receive it (camelCase inputs)."""

from __future__ import annotations

import json

import pytest
from helpers import MINIMAL, config, evaluate

from s3ep_pulumi.local.capture import ACCOUNT_ID, REGION, Capture

QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:img-queue"
DLQ_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:img-dlq"
QUEUE_URL = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT_ID}/img-queue"
DLQ_URL = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT_ID}/img-dlq"
RULE_ARN = f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/img-s3-events"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:img-processor"
STATE_MACHINE_ARN = f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:img-dispatcher"
MACHINE_ARN = f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:img-dispatcher"
BUCKET_NAME = f"img-{ACCOUNT_ID}-{REGION}-an"  # the default: this account's regional namespace


TABLE_ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/img-dispatch"


def invoke_state(definition: dict) -> dict:
    """The Invoke task inside Lanes -> Batch."""
    lane = definition["States"]["Lanes"]["ItemProcessor"]["States"]
    return lane["Batch"]["ItemProcessor"]["States"]["Invoke"]


def statements(doc: dict) -> list[dict]:
    return doc["Statement"]


def allowed(doc: dict) -> dict[str, list[str]]:
    """action -> resources, over every Allow statement."""
    out: dict[str, list[str]] = {}
    for s in statements(doc):
        if s["Effect"] == "Allow":
            for action in s["Action"]:
                out.setdefault(action, []).extend(s["Resource"])
    return out


def test_every_child_is_parented_to_the_component_and_typed(minimal: Capture) -> None:
    component = minimal.one("s3ep:index:S3EventProcessor")
    assert component.name == "images"
    # 28 for the pipeline, 1 for the dispatcher's lease (its table), 1 for the function DLQ's
    # TLS policy, 1 for the bucket's lifecycle rule (noncurrent versions); 18 for operations:
    # 13 alarms (EXPRESS: none on aborted executions), their topic, its policy, key and key
    # alias, and the dashboard
    assert len(minimal.resources) == 49
    assert all(r.name.startswith("images-") for r in minimal.resources if r is not component)


def test_rule_matches_this_bucket_and_targets_the_queue(minimal: Capture) -> None:
    rule = minimal.one("aws:cloudwatch/eventRule:EventRule")
    assert rule.inputs["name"] == "img-s3-events"
    assert rule.prop("eventPattern") == {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": [BUCKET_NAME]}},
    }
    target = minimal.one("aws:cloudwatch/eventTarget:EventTarget")
    assert target.inputs["rule"] == "img-s3-events"
    assert target.inputs["arn"] == QUEUE_ARN
    assert target.inputs["deadLetterConfig"] == {
        "arn": f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:img-rule-dlq"
    }
    assert target.inputs["retryPolicy"] == {
        "maximumEventAgeInSeconds": 86400,
        "maximumRetryAttempts": 185,
    }
    assert set(target.inputs["inputTransformer"]["inputPaths"]) == {
        "bucket",
        "key",
        "object",
        "event_type",
        "event_time",
    }


def test_queue_policy_lets_only_this_rule_send_and_only_over_tls(minimal: Capture) -> None:
    policy = minimal.one("aws:sqs/queuePolicy:QueuePolicy", "images-queue-policy")
    assert policy.inputs["queueUrl"] == QUEUE_URL
    deny, allow = statements(policy.prop("policy"))
    assert deny == {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "sqs:*",
        "Resource": [QUEUE_ARN],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    assert allow == {
        "Sid": "AllowThisRuleToSend",
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": QUEUE_ARN,
        "Condition": {"ArnEquals": {"aws:SourceArn": RULE_ARN}},
    }


def test_redrive_points_to_the_dlq_with_the_configured_count() -> None:
    capture = evaluate(config(queue={"max_receive_count": 7}))
    queue = capture.one("aws:sqs/queue:Queue", "images-queue")
    assert queue.prop("redrivePolicy") == {"deadLetterTargetArn": DLQ_ARN, "maxReceiveCount": 7}
    allow = capture.one("aws:sqs/redriveAllowPolicy:RedriveAllowPolicy")
    assert allow.inputs["queueUrl"] == DLQ_URL
    assert allow.prop("redriveAllowPolicy") == {
        "redrivePermission": "byQueue",
        "sourceQueueArns": [QUEUE_ARN],
    }


def test_queues_use_sqs_managed_encryption_by_default(minimal: Capture) -> None:
    for queue in minimal.of_type("aws:sqs/queue:Queue"):
        assert queue.inputs["sqsManagedSseEnabled"] is True, queue.name
        assert "kmsMasterKeyId" not in queue.inputs, queue.name


def test_queue_visibility_timeout_is_the_dispatchers_worst_case(minimal: Capture) -> None:
    # a lane's 10 messages one after the other, each (4 attempts x 60 s + retries 1+2+4 s +
    # 10 s of bookkeeping), after a 2 s receive wait, + 30 s overhead
    queue = minimal.one("aws:sqs/queue:Queue", "images-queue")
    assert queue.inputs["visibilityTimeoutSeconds"] == 2 + 10 * (247 + 10) + 30


def test_dispatcher_role_may_invoke_only_this_function_and_touch_only_this_queue(
    minimal: Capture,
) -> None:
    policy = minimal.one("aws:iam/rolePolicy:RolePolicy", "images-dispatcher-policy")
    assert policy.inputs["role"] == "img-dispatcher-role"
    grants = allowed(policy.prop("policy"))
    assert grants["lambda:InvokeFunction"] == [FUNCTION_ARN, f"{FUNCTION_ARN}:*"]
    assert grants["sqs:GetQueueAttributes"] == [QUEUE_ARN]
    assert grants["sqs:ChangeMessageVisibility"] == [QUEUE_ARN]
    assert grants["sqs:ReceiveMessage"] == [QUEUE_ARN]
    assert grants["sqs:DeleteMessage"] == [QUEUE_ARN]
    assert grants["sqs:SendMessage"] == [DLQ_ARN]
    for action in ("GetItem", "PutItem", "UpdateItem", "DeleteItem"):
        assert grants[f"dynamodb:{action}"] == [TABLE_ARN]
    non_wildcard = {a for a, res in grants.items() if res != ["*"]}
    assert non_wildcard == {
        "lambda:InvokeFunction",
        "sqs:GetQueueAttributes",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:SendMessage",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "states:StartExecution",
    }
    assert grants["states:StartExecution"] == [STATE_MACHINE_ARN]  # its own, for a handover
    wildcard = {a for a, res in grants.items() if res == ["*"]}
    assert all(a.startswith(("xray:", "logs:")) for a in wildcard)


def test_the_lease_is_an_on_demand_table_with_point_in_time_recovery_held_for_the_budget(
    minimal: Capture,
) -> None:
    table = minimal.one("aws:dynamodb/table:Table", "images-dispatch")
    assert table.inputs["name"] == "img-dispatch"
    assert table.inputs["billingMode"] == "PAY_PER_REQUEST"
    assert table.inputs["hashKey"] == "pk"
    assert table.inputs["attributes"] == [{"name": "pk", "type": "S"}]
    assert table.inputs["pointInTimeRecovery"] == {"enabled": True}
    assert "serverSideEncryption" not in table.inputs  # an AWS owned key, without our own key
    states = minimal.one("aws:sfn/stateMachine:StateMachine").prop("definition")["States"]
    assert states["Acquire"]["Parameters"]["TableName"] == "img-dispatch"
    assert states["Plan"]["Parameters"]["Payload"]["s3ep"]["lease"] == 240 + 60


def test_dispatcher_trust_is_scoped_to_this_account_and_state_machine(minimal: Capture) -> None:
    role = minimal.one("aws:iam/role:Role", "images-dispatcher-role")
    (trust,) = statements(role.prop("assumeRolePolicy"))
    assert trust["Principal"] == {"Service": "states.amazonaws.com"}
    assert trust["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT_ID},
        "ArnLike": {"aws:SourceArn": MACHINE_ARN},
    }


def test_state_machine_uses_its_role_and_targets_this_queue_and_function(
    minimal: Capture,
) -> None:
    machine = minimal.one("aws:sfn/stateMachine:StateMachine")
    assert machine.inputs["name"] == "img-dispatcher"
    assert machine.inputs["type"] == "EXPRESS"
    assert machine.inputs["roleArn"] == f"arn:aws:iam::{ACCOUNT_ID}:role/img-dispatcher-role"
    states = machine.prop("definition")["States"]
    assert states["Probe"]["Parameters"]["QueueUrl"] == QUEUE_URL
    lane = states["Lanes"]["ItemProcessor"]["States"]
    assert lane["Receive"]["Parameters"]["QueueUrl"] == QUEUE_URL
    iteration = lane["Batch"]["ItemProcessor"]["States"]
    assert iteration["Invoke"]["Parameters"]["FunctionName"] == FUNCTION_ARN
    assert lane["DeleteSucceeded"]["Parameters"]["QueueUrl"] == QUEUE_URL
    assert iteration["RetryLater"]["Parameters"]["QueueUrl"] == QUEUE_URL
    assert iteration["Quarantine"]["Parameters"]["QueueUrl"] == DLQ_URL
    assert machine.inputs["loggingConfiguration"] == {
        "level": "ERROR",
        "includeExecutionData": False,
        "logDestination": f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:"
        "/aws/vendedlogs/states/img-dispatcher:*",
    }


def test_schedule_starts_the_state_machine_with_a_role_that_may_only_do_that(
    minimal: Capture,
) -> None:
    schedule = minimal.one("aws:scheduler/schedule:Schedule")
    assert schedule.inputs["scheduleExpression"] == "rate(1 minute)"
    assert schedule.inputs["target"]["arn"] == MACHINE_ARN
    assert (
        schedule.inputs["target"]["roleArn"] == f"arn:aws:iam::{ACCOUNT_ID}:role/img-scheduler-role"
    )
    policy = minimal.one("aws:iam/rolePolicy:RolePolicy", "images-scheduler-policy")
    assert allowed(policy.prop("policy")) == {"states:StartExecution": [MACHINE_ARN]}


def test_function_role_reads_only_this_bucket_and_logs_only_to_its_group() -> None:
    capture = evaluate(config(bucket={"prefixes": ["in/", "raw/"]}))
    grants = allowed(
        capture.one("aws:iam/rolePolicy:RolePolicy", "images-function-policy").prop("policy")
    )
    assert grants["s3:GetObject"] == [
        f"arn:aws:s3:::{BUCKET_NAME}/in/*",
        f"arn:aws:s3:::{BUCKET_NAME}/raw/*",
    ]
    assert grants["logs:PutLogEvents"] == [
        f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:/aws/lambda/img-processor:*"
    ]
    assert grants["sqs:SendMessage"] == [f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:img-function-dlq"]
    assert not any(
        a.startswith("s3:") and a not in {"s3:GetObject", "s3:GetObjectVersion"} for a in grants
    )


def test_function_is_packaged_deterministically_and_logs_to_its_group(minimal: Capture) -> None:
    function = minimal.one("aws:lambda/function:Function")
    again = evaluate(MINIMAL).one("aws:lambda/function:Function")
    assert function.inputs["sourceCodeHash"] == again.inputs["sourceCodeHash"]
    # the shim fronts the user's handler, named in S3EP_HANDLER
    assert function.inputs["handler"] == "s3ep_shim.handler"
    assert function.inputs["environment"]["variables"]["S3EP_HANDLER"] == "app.handler"
    assert function.inputs["runtime"] == "python3.12"
    assert function.inputs["architectures"] == ["arm64"]
    assert function.inputs["loggingConfig"] == {
        "logFormat": "JSON",
        "logGroup": "/aws/lambda/img-processor",
    }
    assert function.inputs["deadLetterConfig"] == {
        "targetArn": f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:img-function-dlq"
    }
    assert function.inputs["reservedConcurrentExecutions"] == -1
    logs = minimal.one("aws:cloudwatch/logGroup:LogGroup", "images-function-logs")
    assert logs.inputs["retentionInDays"] == 30


def test_new_bucket_is_encrypted_private_versioned_and_tls_only(minimal: Capture) -> None:
    bucket = minimal.one("aws:s3/bucket:Bucket")
    assert bucket.inputs["bucket"] == BUCKET_NAME
    assert bucket.inputs["forceDestroy"] is False
    sse = minimal.one(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"] == {
        "sseAlgorithm": "AES256"
    }
    pab = minimal.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert {
        k: pab.inputs[k]
        for k in (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        )
    } == dict.fromkeys(
        ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"), True
    )
    versioning = minimal.one("aws:s3/bucketVersioning:BucketVersioning")
    assert versioning.inputs["versioningConfiguration"] == {"status": "Enabled"}
    (deny,) = statements(minimal.one("aws:s3/bucketPolicy:BucketPolicy").prop("policy"))
    assert deny["Resource"] == [f"arn:aws:s3:::{BUCKET_NAME}", f"arn:aws:s3:::{BUCKET_NAME}/*"]
    assert minimal.one("aws:s3/bucketNotification:BucketNotification").inputs["eventbridge"] is True


def test_a_new_buckets_default_name_is_reserved_to_this_account_and_region(
    minimal: Capture,
) -> None:
    # Bucket names are global: a fixed default (img-bucket) fails `pulumi up` for whoever comes
    # second. In the account regional namespace, only this account can create the name.
    bucket = minimal.one("aws:s3/bucket:Bucket")
    assert bucket.inputs["bucket"] == BUCKET_NAME
    assert bucket.inputs["bucketNamespace"] == "account-regional"
    # A stack that already has its bucket keeps it: a new default never renames (replaces) it
    assert bucket.ignore_changes == ["bucket", "bucketNamespace"]
    rule = minimal.one("aws:cloudwatch/eventRule:EventRule")
    assert rule.prop("eventPattern")["detail"]["bucket"] == {"name": [BUCKET_NAME]}


def test_a_named_bucket_is_created_with_that_name_in_the_global_namespace() -> None:
    capture = evaluate(config(bucket={"name": "acme-images"}))
    bucket = capture.one("aws:s3/bucket:Bucket")
    assert bucket.inputs["bucket"] == "acme-images"
    assert "bucketNamespace" not in bucket.inputs
    # a name the user chose is theirs to change, and changing it replaces the bucket
    assert bucket.ignore_changes == []


def test_a_named_bucket_ending_in_an_is_created_in_the_account_regional_namespace() -> None:
    name = f"acme-{ACCOUNT_ID}-{REGION}-an"
    bucket = evaluate(config(bucket={"name": name})).one("aws:s3/bucket:Bucket")
    assert (bucket.inputs["bucket"], bucket.inputs["bucketNamespace"]) == (
        name,
        "account-regional",
    )


def test_the_default_bucket_name_uses_the_global_namespace_where_the_regional_one_is_missing() -> (
    None
):
    # Middle East (Bahrain) has no account regional namespace: the -an suffix is reserved to it
    from s3ep_pulumi.model.naming import bucket_namespace, default_bucket_name

    name = default_bucket_name("img", ACCOUNT_ID, "me-south-1")
    assert name == f"img-{ACCOUNT_ID}-me-south-1"
    assert bucket_namespace(name) is None


LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
LOGGING = "aws:s3/bucketLogging:BucketLogging"


def test_a_new_bucket_deletes_noncurrent_versions_after_30_days(minimal: Capture) -> None:
    # versioning keeps every overwritten or deleted object; without a rule, forever
    lifecycle = minimal.one(LIFECYCLE)
    assert lifecycle.inputs["bucket"] == BUCKET_NAME
    assert lifecycle.inputs["rules"] == [
        {
            "id": "expire-noncurrent-versions",
            "status": "Enabled",
            "filter": {},
            "noncurrentVersionExpiration": {"noncurrentDays": 30},
        }
    ]
    # S3 applies the rule only to a versioned bucket's versions: after versioning is set
    versioning = minimal.one("aws:s3/bucketVersioning:BucketVersioning")
    assert versioning.urn in lifecycle.dependencies


def test_noncurrent_versions_are_kept_as_long_as_asked_or_forever() -> None:
    days = evaluate(config(bucket={"noncurrent_version_expiration_days": 7})).one(LIFECYCLE)
    assert days.inputs["rules"][0]["noncurrentVersionExpiration"] == {"noncurrentDays": 7}
    forever = evaluate(config(bucket={"noncurrent_version_expiration_days": None}))
    assert forever.of_type(LIFECYCLE) == []


def test_a_new_bucket_logs_access_to_the_given_bucket_when_asked(minimal: Capture) -> None:
    assert minimal.of_type(LOGGING) == []
    capture = evaluate(config(bucket={"access_log_bucket": "acme-access-logs"}))
    logging = capture.one(LOGGING)
    assert logging.inputs["bucket"] == BUCKET_NAME
    assert logging.inputs["targetBucket"] == "acme-access-logs"
    assert logging.inputs["targetPrefix"] == "img/"  # default: one prefix per processor
    prefixed = evaluate(
        config(bucket={"access_log_bucket": "acme-access-logs", "access_log_prefix": "s3/img/"})
    )
    assert prefixed.one(LOGGING).inputs["targetPrefix"] == "s3/img/"


def test_existing_bucket_is_referenced_not_managed() -> None:
    capture = evaluate(config(bucket={"existing_bucket_name": "acme-ingest"}))
    assert capture.of_type("aws:s3/bucket:Bucket") == []
    assert capture.of_type("aws:s3/bucketNotification:BucketNotification") == []
    assert capture.of_type("aws:s3/bucketPolicy:BucketPolicy") == []
    rule = capture.one("aws:cloudwatch/eventRule:EventRule")
    assert rule.prop("eventPattern")["detail"]["bucket"] == {"name": ["acme-ingest"]}


def test_existing_bucket_notifications_are_turned_on_only_when_asked() -> None:
    capture = evaluate(
        config(
            bucket={"existing_bucket_name": "acme-ingest", "enable_eventbridge_notifications": True}
        )
    )
    notification = capture.one("aws:s3/bucketNotification:BucketNotification")
    assert notification.inputs == {"bucket": "acme-ingest", "eventbridge": True}


def test_customer_kms_key_encrypts_every_queue_and_is_granted_to_the_dispatcher() -> None:
    key = f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    capture = evaluate(config(queue={"kms_key_arn": key}))
    for queue in capture.of_type("aws:sqs/queue:Queue"):
        assert queue.inputs["kmsMasterKeyId"] == key, queue.name
        assert "sqsManagedSseEnabled" not in queue.inputs, queue.name
    grants = allowed(
        capture.one("aws:iam/rolePolicy:RolePolicy", "images-dispatcher-policy").prop("policy")
    )
    assert grants["kms:Decrypt"] == [key]


def test_provisioned_concurrency_lives_on_an_alias_the_dispatcher_invokes() -> None:
    capture = evaluate(config(function={"provisioned_concurrency": 3}))
    alias = capture.one("aws:lambda/alias:Alias")
    assert alias.inputs["name"] == "live"
    assert alias.inputs["functionVersion"] == "1"
    pc = capture.one("aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig")
    assert pc.inputs == {
        "functionName": "img-processor",
        "qualifier": "live",
        "provisionedConcurrentExecutions": 3,
    }
    machine = capture.one("aws:sfn/stateMachine:StateMachine")
    invoke = invoke_state(machine.prop("definition"))
    assert invoke["Parameters"]["FunctionName"] == f"{FUNCTION_ARN}:live"
    assert capture.one("aws:lambda/function:Function").inputs["publish"] is True


def test_vpc_subnets_and_security_groups_reach_the_function() -> None:
    vpc = {"subnet_ids": ["subnet-0abc"], "security_group_ids": ["sg-0def"]}
    capture = evaluate(config(function={"vpc": vpc}))
    function = capture.one("aws:lambda/function:Function")
    assert function.inputs["vpcConfig"] == {
        "subnetIds": ["subnet-0abc"],
        "securityGroupIds": ["sg-0def"],
    }
    grants = allowed(
        capture.one("aws:iam/rolePolicy:RolePolicy", "images-function-policy").prop("policy")
    )
    # Lambda creates, deletes and re-addresses the function's network interfaces with its role:
    # in this account and Region, in the configured subnets, with the configured groups
    enis = f"arn:aws:ec2:{REGION}:{ACCOUNT_ID}:network-interface/*"
    assert grants["ec2:CreateNetworkInterface"] == [
        enis,
        f"arn:aws:ec2:{REGION}:{ACCOUNT_ID}:subnet/subnet-0abc",
        f"arn:aws:ec2:{REGION}:{ACCOUNT_ID}:security-group/sg-0def",
    ]
    for action in (
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
    ):
        assert grants[action] == [enis], action
    # the one EC2 action without resource-level permissions
    assert grants["ec2:DescribeNetworkInterfaces"] == ["*"]


def test_existing_function_is_invoked_not_created() -> None:
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:legacy-thumbnailer"
    capture = evaluate(
        {
            "name_prefix": "img",
            "dispatch": {"engine": "step_functions"},
            "function": {"existing_function_arn": arn},
        }
    )
    assert capture.of_type("aws:lambda/function:Function") == []
    definition = capture.one("aws:sfn/stateMachine:StateMachine").prop("definition")
    assert invoke_state(definition)["Parameters"]["FunctionName"] == arn
    # the shim, for the owner to put in front of their handler
    layer = capture.one("aws:lambda/layerVersion:LayerVersion")
    assert layer.inputs["layerName"] == "img-s3ep-runtime"
    assert layer.inputs["compatibleRuntimes"] == ["python3.11", "python3.12", "python3.13"]


def test_tags_reach_every_taggable_resource() -> None:
    capture = evaluate(config(tags={"Owner": "data"}))
    tagged = [r for r in capture.resources if "tags" in r.inputs]
    # bucket, 4 queues, the dispatch table, 2 log groups, 3 roles, function, state machine,
    # rule; 13 alarms, the alarm topic and its key
    assert len(tagged) == 29
    for r in tagged:
        # The dispatcher declares how long it may hold a message (for the policy pack).
        extra = {
            "images-dispatcher": {"s3ep:in-flight-worst-case-seconds": "2602"},
        }.get(r.name, {})
        assert r.inputs["tags"] == {"s3ep:processor": "images", "Owner": "data", **extra}, r.name


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_shipped_stacks_evaluate_and_set_every_output(stack: str) -> None:
    from s3ep_pulumi.local.synth import synth_stack

    capture = synth_stack(stack)
    assert set(capture.outputs) == {
        "bucket_name",
        "bucket_arn",
        "queue_url",
        "queue_arn",
        "dlq_url",
        "dlq_arn",
        "rule_arn",
        "state_machine_arn",
        "function_name",
        "function_arn",
        "alarm_topic_arn",
        "dashboard_name",
    }
    assert all(isinstance(v, str) and v for v in capture.outputs.values()), capture.outputs
    assert capture.outputs["queue_url"] == (
        f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT_ID}/s3ep-{stack}-queue"
    )
    json.dumps(capture.outputs)


SPLUNK_HEC = {
    "hec_endpoint": "https://http-inputs-acme.splunkcloud.com",
    "hec_token_secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:hec-AbC123",
    "failed_events_bucket_arn": "arn:aws:s3:::acme-splunk-failed",
}


def test_every_consumer_of_a_role_waits_for_the_roles_policy() -> None:
    # GIVEN a processor with every role: function, dispatcher, scheduler, Firehose, log delivery
    capture = evaluate(config(monitoring={"splunk": SPLUNK_HEC}))
    urn = {r.name: r.urn for r in capture.resources}
    # WHEN AWS first uses a role, the role's inline policy must already be in place: IAM grants
    # nothing until it is, and creating (or first invoking) the consumer fails
    consumers = {
        "images-function": "images-function-policy",
        "images-dispatcher": "images-dispatcher-policy",
        "images-poll": "images-scheduler-policy",
        "images-splunk": "images-firehose-policy",
        "images-function-logs-splunk": "images-log-subscription-policy",
        "images-dispatcher-logs-splunk": "images-log-subscription-policy",
    }
    # THEN each consumer depends on its role's policy, not only on the role
    for consumer, policy in consumers.items():
        assert urn[policy] in capture.by_name(consumer).dependencies, consumer


# --- a STANDARD dispatcher: a parent over EXPRESS runs --------------------------------------

RUN_ARN = f"{MACHINE_ARN}-run"
MACHINE = "aws:sfn/stateMachine:StateMachine"


def test_an_express_dispatcher_is_one_state_machine(minimal: Capture) -> None:
    assert [m.inputs["name"] for m in minimal.of_type(MACHINE)] == ["img-dispatcher"]


def test_a_standard_dispatcher_is_a_standard_parent_over_an_express_run() -> None:
    capture = evaluate(config(dispatch={"workflow_type": "STANDARD"}))
    machines = {m.name: m for m in capture.of_type(MACHINE)}
    assert set(machines) == {"images-dispatcher", "images-dispatcher-run"}
    parent, run = machines["images-dispatcher"], machines["images-dispatcher-run"]
    # the deployed STANDARD machine keeps its logical name, name and type: no replacement
    assert (parent.inputs["name"], parent.inputs["type"]) == ("img-dispatcher", "STANDARD")
    assert (run.inputs["name"], run.inputs["type"]) == ("img-dispatcher-run", "EXPRESS")
    assert parent.prop("definition")["States"]["Run"]["Parameters"]["StateMachineArn"] == RUN_ARN
    # the run does the per-message work on this queue and function, and does not hand over
    states = run.prop("definition")["States"]
    assert states["Probe"]["Parameters"]["QueueUrl"] == QUEUE_URL
    lane = states["Lanes"]["ItemProcessor"]["States"]
    assert lane["Batch"]["ItemProcessor"]["States"]["Invoke"]["Parameters"]["FunctionName"] == (
        FUNCTION_ARN
    )
    assert "Handover" not in states
    # the parent waits for the run it started
    assert urn_of(capture, "images-dispatcher-run") in parent.dependencies


def urn_of(capture: Capture, name: str) -> str:
    return capture.by_name(name).urn


def test_a_standard_dispatchers_runs_log_and_trace_like_the_parent() -> None:
    capture = evaluate(
        config(dispatch={"workflow_type": "STANDARD", "log_level": "ALL"}, security=KEYED)
    )
    machines = {m.name: m for m in capture.of_type(MACHINE)}
    groups = {g.name: g for g in capture.of_type("aws:cloudwatch/logGroup:LogGroup")}
    parent_logs, run_logs = groups["images-dispatcher-logs"], groups["images-dispatcher-run-logs"]
    assert run_logs.inputs["name"] == "/aws/vendedlogs/states/img-dispatcher-run"
    for key in ("retentionInDays", "kmsKeyId"):
        assert run_logs.inputs[key] == parent_logs.inputs[key], key
    assert run_logs.inputs["kmsKeyId"]  # the component's key, as for the parent's group
    parent, run = machines["images-dispatcher"], machines["images-dispatcher-run"]
    assert run.inputs["loggingConfiguration"] == {
        **parent.inputs["loggingConfiguration"],
        "logDestination": f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:"
        "/aws/vendedlogs/states/img-dispatcher-run:*",
    }
    assert run.inputs["loggingConfiguration"]["level"] == "ALL"
    assert (
        run.inputs["tracingConfiguration"]
        == parent.inputs["tracingConfiguration"]
        == {"enabled": True}
    )


KEYED = {"create_kms_key": True}


def test_a_standard_parent_may_only_run_and_wait_for_its_runs_which_keep_the_workers_rights() -> (
    None
):
    capture = evaluate(config(dispatch={"workflow_type": "STANDARD"}))
    parent = allowed(
        capture.one("aws:iam/rolePolicy:RolePolicy", "images-dispatcher-policy").prop("policy")
    )
    executions = [
        f"arn:aws:states:{REGION}:{ACCOUNT_ID}:execution:img-dispatcher-run:*",
        f"arn:aws:states:{REGION}:{ACCOUNT_ID}:express:img-dispatcher-run:*:*",
    ]
    sync_rule = (
        f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/"
        "StepFunctionsGetEventsForStepFunctionsExecutionRule"
    )
    assert {a: r for a, r in parent.items() if r != ["*"]} == {
        "states:StartExecution": [RUN_ARN, MACHINE_ARN],  # a round; the successor
        "states:DescribeExecution": executions,
        "states:StopExecution": executions,
        "events:PutTargets": [sync_rule],
        "events:PutRule": [sync_rule],
        "events:DescribeRule": [sync_rule],
    }
    run_policy = capture.one("aws:iam/rolePolicy:RolePolicy", "images-dispatcher-run-policy")
    assert run_policy.inputs["role"] == "img-run-role"
    run = allowed(run_policy.prop("policy"))
    assert run["lambda:InvokeFunction"] == [FUNCTION_ARN, f"{FUNCTION_ARN}:*"]
    assert run["sqs:ReceiveMessage"] == [QUEUE_ARN]
    assert run["dynamodb:UpdateItem"] == [TABLE_ARN]
    assert "states:StartExecution" not in run  # the parent loops: no handover
    trusts = {
        name: statements(capture.one("aws:iam/role:Role", name).prop("assumeRolePolicy"))[0]
        for name in ("images-dispatcher-role", "images-dispatcher-run-role")
    }
    assert trusts["images-dispatcher-role"]["Condition"]["ArnLike"] == {
        "aws:SourceArn": MACHINE_ARN
    }
    assert trusts["images-dispatcher-run-role"]["Condition"]["ArnLike"] == {
        "aws:SourceArn": RUN_ARN
    }
    for machine, policy in (
        ("images-dispatcher", "images-dispatcher-policy"),
        ("images-dispatcher-run", "images-dispatcher-run-policy"),
    ):
        assert urn_of(capture, policy) in capture.by_name(machine).dependencies, machine
