"""What a user can say, and every decision derived from it.

The pydantic sections (`sections`, `monitoring`) and their root (`args`), the cross-field rules
(`rules`), the dispatcher's timing model (`budget`), physical names (`naming`), AWS limits
(`limits`), the security facts shared with the policy pack (`security`) and the decisions about
deployed resources that need the whole configuration (`resources`). May import pydantic,
the standard library and `s3ep_pulumi.runtime` (for the shim's constants); never pulumi or
pulumi-aws, so the policy pack and the builders can use it without the component.
"""
