"""Security facts shared by the model, the builders, the component, the policy pack and
`s3ep check`: resource tags, the actions AWS grants only on `*`, and the AWS-managed keys that
cannot be used.

Standard library only: the policy pack loads it without pydantic or the component.
"""

from __future__ import annotations

import re
from typing import Final

# Tag on the dispatcher's state machine: the longest, in seconds, it may hold a received message
# (`S3EventProcessorArgs.in_flight_worst_case_seconds`). The policy pack checks that the queue it
# drains (same `s3ep:processor` tag) has a visibility timeout at least this long.
IN_FLIGHT_TAG: Final = "s3ep:in-flight-worst-case-seconds"
PROCESSOR_TAG: Final = "s3ep:processor"


# Actions that AWS authorises only on Resource "*" (or that AWS documents on "*" for this use),
# and why we grant them. The policy pack (iam-no-wildcard-resource), the parliament lint and
# docs/security.md all read this one list.
WILDCARD_RESOURCE_EXCEPTIONS: dict[str, str] = {
    "xray:PutTraceSegments": "X-Ray has no resource-level permissions; needed for tracing.",
    "xray:PutTelemetryRecords": "X-Ray has no resource-level permissions; needed for tracing.",
    "xray:GetSamplingRules": "X-Ray has no resource-level permissions; needed for tracing.",
    "xray:GetSamplingTargets": "X-Ray has no resource-level permissions; needed for tracing.",
    "logs:CreateLogDelivery": "Step Functions log delivery (vended logs) requires '*'.",
    "logs:GetLogDelivery": "Step Functions log delivery (vended logs) requires '*'.",
    "logs:UpdateLogDelivery": "Step Functions log delivery (vended logs) requires '*'.",
    "logs:DeleteLogDelivery": "Step Functions log delivery (vended logs) requires '*'.",
    "logs:ListLogDeliveries": "Step Functions log delivery (vended logs) requires '*'.",
    "logs:PutResourcePolicy": "Step Functions log delivery (vended logs) requires '*'.",
    "logs:DescribeResourcePolicies": "Step Functions log delivery (vended logs) requires '*'.",
    "logs:DescribeLogGroups": "Step Functions log delivery (vended logs) requires '*'.",
    # The other four network-interface actions have resource types, and are scoped to this
    # account and Region's network interfaces and the configured subnets and security groups.
    "ec2:DescribeNetworkInterfaces": (
        "Lambda in a VPC (only when function.vpc is set): EC2 has no resource-level permissions "
        "for it, and the Lambda guide says it 'only works if it's allowed on all resources'."
    ),
}

# AWS-managed keys a service principal cannot use: EventBridge cannot send to a queue encrypted
# with alias/aws/sqs, CloudWatch alarms cannot publish to a topic encrypted with alias/aws/sns.
AWS_MANAGED_SQS_KEY = re.compile(r"(^|:)alias/aws/sqs$")
# Any AWS managed key: its key policy admits only its own service, and cannot be changed.
AWS_MANAGED_KEY = re.compile(r"(^|:)alias/aws/")
AWS_MANAGED_SNS_KEY = re.compile(r"(^|:)alias/aws/sns$")
