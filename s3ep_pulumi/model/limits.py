"""AWS service limits the component designs around, and the defaults AWS applies when a setting
is absent, one named constant each.

Every value cites the AWS page that states it, so a reviewer can check a number without guessing.
"""

from typing import Final

# --- Names -------------------------------------------------------------------------------------
# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html
SQS_QUEUE_NAME_MAX: Final = 80
# DynamoDB table names: 3-255 characters ("Supported data types and naming rules").
DYNAMODB_TABLE_NAME_MAX: Final = 255
# https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html (FunctionName, name only)
LAMBDA_FUNCTION_NAME_MAX: Final = 64
# https://docs.aws.amazon.com/lambda/latest/api/API_PublishLayerVersion.html (LayerName)
LAMBDA_LAYER_NAME_MAX: Final = 140
# https://docs.aws.amazon.com/step-functions/latest/apireference/API_CreateStateMachine.html
STATE_MACHINE_NAME_MAX: Final = 80
# https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html
IAM_ROLE_NAME_MAX: Final = 64
# https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html
EVENT_RULE_NAME_MAX: Final = 64
# https://docs.aws.amazon.com/scheduler/latest/APIReference/API_CreateSchedule.html
SCHEDULE_NAME_MAX: Final = 64
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
S3_BUCKET_NAME_MAX: Final = 63
# A bucket's account regional namespace: names end in -<12-digit account>-<region code>-an and
# only this account can create them; not offered in Middle East (Bahrain) and (UAE).
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/gpbucketnamespaces.html
S3_ACCOUNT_REGIONAL_UNSUPPORTED_REGIONS: Final = ("me-south-1", "me-central-1")
ACCOUNT_ID_LENGTH: Final = 12
# https://docs.aws.amazon.com/AmazonS3/latest/API/API_s3Buckets_LoggingEnabled.html
S3_ACCESS_LOG_PREFIX_MAX: Final = 1_024
# The longest region code in any partition (us-isof-south-1), as botocore 1.44.8's
# data/endpoints.json lists them: what a name built from the region must leave room for.
REGION_CODE_MAX_LENGTH: Final = 15
# https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html
EXECUTION_NAME_MAX: Final = 80

# --- SQS ---------------------------------------------------------------------------------------
# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html
SQS_VISIBILITY_TIMEOUT_MAX_SECONDS: Final = 43_200  # 12 hours
SQS_RETENTION_MIN_SECONDS: Final = 60
SQS_RETENTION_MAX_SECONDS: Final = 1_209_600  # 14 days
SQS_MESSAGE_SIZE_MIN_BYTES: Final = 1_024
SQS_MESSAGE_SIZE_MAX_BYTES: Final = 1_048_576  # 1 MiB since August 2025
SQS_RECEIVE_MAX_MESSAGES: Final = 10
SQS_LONG_POLL_MAX_SECONDS: Final = 20
SQS_KMS_DATA_KEY_REUSE_MIN_SECONDS: Final = 60
SQS_KMS_DATA_KEY_REUSE_MAX_SECONDS: Final = 86_400
SQS_MAX_RECEIVE_COUNT_MAX: Final = 1_000
# What SQS applies when a queue leaves the attribute unset (same page).
SQS_VISIBILITY_TIMEOUT_DEFAULT_SECONDS: Final = 30
SQS_RETENTION_DEFAULT_SECONDS: Final = 345_600  # 4 days

# --- EventBridge -------------------------------------------------------------------------------
# https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_RetryPolicy.html: a target
# retries an event for at most 24 hours and at most 185 times.
EVENTBRIDGE_TARGET_EVENT_AGE_MAX_SECONDS: Final = 86_400
EVENTBRIDGE_TARGET_RETRY_ATTEMPTS_MAX: Final = 185

# --- Lambda ------------------------------------------------------------------------------------
# https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
LAMBDA_TIMEOUT_MAX_SECONDS: Final = 900
LAMBDA_MEMORY_MIN_MB: Final = 128
LAMBDA_MEMORY_MAX_MB: Final = 10_240
LAMBDA_LAYERS_MAX: Final = 5
LAMBDA_ENV_MAX_BYTES: Final = 4_096
# https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html: a function logs to
# /aws/lambda/<function name> unless its logging config names another group.
LAMBDA_LOG_GROUP_PREFIX: Final = "/aws/lambda/"
# https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html: a .zip package, with
# its layers, unzipped.
LAMBDA_UNZIPPED_PACKAGE_MAX_BYTES: Final = 262_144_000  # 250 MB
# https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html: python3.11 runs on Amazon
# Linux 2 (glibc 2.26), python3.12 and python3.13 on Amazon Linux 2023 (glibc 2.34). A manylinux
# wheel runs where the glibc is at least the one in its tag (PEP 600).
LAMBDA_RUNTIME_GLIBC: Final = {"python3.11": (2, 26), "python3.12": (2, 34), "python3.13": (2, 34)}
# Lambda's architecture names -> the machine names of wheel platform tags.
LAMBDA_WHEEL_MACHINES: Final = {"arm64": "aarch64", "x86_64": "x86_64"}

# --- Step Functions ----------------------------------------------------------------------------
# https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html
STANDARD_HISTORY_EVENTS_MAX: Final = 25_000
EXPRESS_DURATION_MAX_SECONDS: Final = 300
STATE_PAYLOAD_MAX_BYTES: Final = 262_144  # 256 KiB
# https://docs.aws.amazon.com/step-functions/latest/dg/state-map-inline.html: an inline Map runs
# at most 40 iterations at once.
INLINE_MAP_CONCURRENCY_MAX: Final = 40

# --- Lambda's SQS event source mapping -----------------------------------------------------------
# https://docs.aws.amazon.com/lambda/latest/api/API_ScalingConfig.html: MaximumConcurrency,
# "Valid Range: Minimum value of 2. Maximum value of 1000."
MAPPING_CONCURRENCY_MIN: Final = 2
MAPPING_CONCURRENCY_MAX: Final = 1_000
# https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html: "set the source
# queue's visibility timeout to at least six times the configuration timeout on your function.
# The extra time allows Lambda to retry if your function is throttled while processing a
# previous batch." (plus the batching window, which s3ep sets to 0)
MAPPING_VISIBILITY_TIMEOUT_FACTOR: Final = 6
# https://docs.aws.amazon.com/step-functions/latest/dg/state-wait.html: integer seconds only.
WAIT_RESOLUTION_SECONDS: Final = 1

# --- CloudWatch Logs ---------------------------------------------------------------------------
# https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html
LOG_RETENTION_DAYS: Final = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)

# --- Operations (alarms, dashboard, log subscriptions, scaling) --------------------------------
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html
ALARM_NAME_MAX: Final = 255
ALARM_DESCRIPTION_MAX: Final = 1_024
# Periods below 60 s need high-resolution metrics; AWS services publish these at 60 s.
ALARM_PERIOD_HIGH_RESOLUTION_SECONDS: Final = (10, 30)
ALARM_PERIOD_STEP_SECONDS: Final = 60
# Evaluation periods x period may not exceed one day.
ALARM_EVALUATION_RANGE_MAX_SECONDS: Final = 86_400
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutDashboard.html
DASHBOARD_NAME_MAX: Final = 255
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch-Dashboard-Body-Structure.html
DASHBOARD_GRID_WIDTH: Final = 24
DASHBOARD_ALARM_WIDGET_MAX_ALARMS: Final = 100
# https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html
SNS_TOPIC_NAME_MAX: Final = 256
# https://docs.aws.amazon.com/firehose/latest/APIReference/API_CreateDeliveryStream.html
FIREHOSE_STREAM_NAME_MAX: Final = 64
# https://docs.aws.amazon.com/firehose/latest/APIReference/API_SplunkDestinationConfiguration.html
FIREHOSE_SPLUNK_ACK_TIMEOUT_MIN_SECONDS: Final = 180
FIREHOSE_SPLUNK_ACK_TIMEOUT_MAX_SECONDS: Final = 600
FIREHOSE_SPLUNK_RETRY_MAX_SECONDS: Final = 7_200
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html
LOG_SUBSCRIPTION_FILTERS_PER_GROUP: Final = 2

# --- Step Functions Distributed Map (the backfill) ----------------------------------------------
# https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html: "up to 10,000
# parallel child workflow executions".
DISTRIBUTED_MAP_CONCURRENCY_MAX: Final = 10_000
# https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itembatcher.html: a batch is
# bounded by the 256 KiB input of a child execution, not by a count; a listed object is about
# 200 bytes of JSON, so 1,000 keeps a batch of long keys under it.
DISTRIBUTED_MAP_ITEMS_PER_BATCH_MAX: Final = 1_000
