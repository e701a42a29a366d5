#!/usr/bin/env python3
"""The project's AWS emulator: moto server on loopback, wrapped in a small WSGI layer.

The layer adds what the tests and the benchmark need and moto lacks:
  - a fixed added latency per request (--latency-ms), for the benchmark's depth figure;
  - fault injection: POST /_baseline/faults with a JSON list of
    {"region": "eu-west-1", "service": "ec2", "code": "UnauthorizedOperation", "status": 403}
    makes every matching request fail with that error (service and region are read from
    the request's SigV4 credential scope; a missing key matches anything);
  - organization S3 policies: POST /_baseline/s3-policy {"account", "assign"} makes the
    account's effective S3 policy assign Block Public Access (DescribeEffectivePolicy
    answers it) and its PutPublicAccessBlock answer 403, as AWS does
  - a request log: GET /_baseline/requests lists every AWS request seen
    ({"method", "service", "region", "action", "path"}); DELETE empties it.
    A fault may also name an "action" (for example "CreateTrail") to fail only that call,
    and a "method" and "path" (for REST calls such as S3's: {"method": "HEAD", "path": "/b"}).
    A fault with "stall": true never answers (a service that hangs), to test time-outs.
  - POST /_baseline/age-access-keys {"user", "days"} makes a user's access keys that
    many days older (moto stamps them with the current time), for the credential review;
  - a hold, to kill a client at a chosen instant: POST /_baseline/hold {"write": N} serves
    the N-th write request (anything but a read) and then never answers it; GET
    /_baseline/hold says {"writes": count, "held": bool}; POST {} releases nothing but stops
    holding further requests.

It also corrects two places where moto 5.2.5 differs from real AWS (../shared/EMULATOR.md):
  - S3 GetBucketVersioning answers <VersioningConfiguration> (moto: a root the SDK rejects);
  - the AWS Config service-linked role is named AWSServiceRoleForConfig (moto: ...Forconfig);
  - PutBucketLogging's check of the target bucket's policy accepts statements whose
    Principal is the string "*" (moto: crashes with HTTP 500 on them);
  - GuardDuty refuses a second detector in a region, as real GuardDuty does (moto: accepts
    it), so that two runs at once are tested against the real behaviour.
It refuses, as real AWS does, requests moto accepts:
  - CloudWatch Logs PutRetentionPolicy with a day count outside the documented list;
  - an S3 lifecycle rule whose expiration is not later than its transition;
  - EC2 DeleteVpc while an egress-only internet gateway is attached (DependencyViolation);
  - EventBridge PutTargets to an encrypted SNS topic whose key policy does not let
    events.amazonaws.com use the key unconditioned (real AWS accepts it and drops every
    event; the launcher answers ValidationException so that a test sees it);
  - KMS CreateKey with a key policy that fails the lockout safety check (it does not let
    the account call PutKeyPolicy): MalformedPolicyDocumentException;
  - GuardDuty CreateDetector/UpdateDetector naming both EKS_RUNTIME_MONITORING and
    RUNTIME_MONITORING, or a feature the region does not offer (BadRequestException); and
    it reports features as GuardDuty does (every offered feature, EKS_RUNTIME_MONITORING
    included) and changes only the features a request names.

It binds 127.0.0.1 only, on the given port (0: a free one), and prints
"listening on PORT" once it accepts connections.
"""

import argparse
import datetime
import io
import json
import re
import sys
import threading
import time
from urllib.parse import parse_qs

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

import moto.ec2.exceptions
import moto.ec2.models.vpcs
import moto.events.exceptions
import moto.events.models
import moto.guardduty.models
import moto.iam.models
import moto.kms.models
import moto.logs.exceptions
import moto.logs.models
import moto.organizations.models
import moto.sts.exceptions
import moto.sts.models
import moto.s3.exceptions
from moto.core.exceptions import JsonRESTError
import moto.s3.models
import moto.s3.responses
import moto.sns.models


def _get_bucket_versioning(self):
    status = self.backend.get_bucket_versioning(self.bucket_name)
    inner = f"<Status>{status}</Status>" if status else ""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">{inner}</VersioningConfiguration>'
    )
    return 200, {"Content-Type": "application/xml"}, body


moto.s3.responses.S3Response.get_bucket_versioning = _get_bucket_versioning

_log_permissions = moto.s3.models.FakeBucket._log_permissions_enabled_policy


def _log_permissions_enabled_policy(target_bucket, target_prefix):
    # moto reads stmt["Principal"].get(...), which fails on "Principal": "*": check a copy
    # of the bucket without those statements (they never grant the logging service).
    policy = target_bucket.policy
    if not policy:
        return False
    doc = json.loads(policy.decode() if isinstance(policy, bytes) else policy)
    statements = doc.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    doc["Statement"] = [s for s in statements if isinstance(s.get("Principal"), dict)]

    class View:
        pass

    view = View()
    view.policy = json.dumps(doc).encode()
    view.partition = target_bucket.partition
    view.name = target_bucket.name
    return _log_permissions(view, target_prefix)


moto.s3.models.FakeBucket._log_permissions_enabled_policy = staticmethod(
    _log_permissions_enabled_policy
)
moto.iam.models.SERVICE_NAME_CONVERSION["config"] = "Config"

_create_detector = moto.guardduty.models.GuardDutyBackend.create_detector


def _create_one_detector(self, *args, **kwargs):
    if self.detectors:
        raise JsonRESTError(
            "BadRequestException",
            "The request is rejected because a detector already exists for the current account.",
        )
    return _create_detector(self, *args, **kwargs)


moto.guardduty.models.GuardDutyBackend.create_detector = _create_one_detector

# GuardDuty features as real GuardDuty has them: GetDetector lists every feature the region
# offers (EKS_RUNTIME_MONITORING beside RUNTIME_MONITORING), UpdateDetector changes only
# the features it names (moto replaces the whole list), a request naming both
# EKS_RUNTIME_MONITORING and RUNTIME_MONITORING is refused, and so is a feature the region
# does not offer (POST /_baseline/guardduty-unavailable {"region": [features]} sets them).
GD_FEATURES = ["CLOUD_TRAIL", "DNS_LOGS", "FLOW_LOGS", "S3_DATA_EVENTS", "EKS_AUDIT_LOGS",
               "EBS_MALWARE_PROTECTION", "RDS_LOGIN_EVENTS", "EKS_RUNTIME_MONITORING",
               "LAMBDA_NETWORK_LOGS", "RUNTIME_MONITORING"]
GD_ALWAYS_ON = {"CLOUD_TRAIL", "DNS_LOGS", "FLOW_LOGS"}
GD_UNAVAILABLE = {}


def _gd_check(region, features):
    names = [f.get("name") for f in features or []]
    if "EKS_RUNTIME_MONITORING" in names and "RUNTIME_MONITORING" in names:
        raise JsonRESTError(
            "BadRequestException",
            "The request is rejected because a given detector feature cannot be specified "
            "together with another: EKS_RUNTIME_MONITORING and RUNTIME_MONITORING.",
        )
    for name in names:
        if name in GD_UNAVAILABLE.get(region, ()):
            raise JsonRESTError(
                "BadRequestException",
                f"The request is rejected because the feature {name} is not supported in this region.",
            )


def _gd_merge(old, new):
    merged = {f["name"]: dict(f) for f in old or []}
    for f in new or []:
        cur = merged.setdefault(f["name"], {"name": f["name"]})
        if "status" in f:
            cur["status"] = f["status"]
        if f.get("additionalConfiguration"):
            extra = {a["name"]: dict(a) for a in cur.get("additionalConfiguration", [])}
            for a in f["additionalConfiguration"]:
                extra[a["name"]] = dict(a)
            cur["additionalConfiguration"] = list(extra.values())
    return list(merged.values())


_gd_create = moto.guardduty.models.GuardDutyBackend.create_detector


def _gd_create_detector(self, enable, finding_publishing_frequency, data_sources, tags, features):
    _gd_check(self.region_name, features)
    detector_id = _gd_create(self, enable, finding_publishing_frequency, data_sources, tags,
                             _gd_merge([], features))
    self.detectors[detector_id].baseline_region = self.region_name
    return detector_id


moto.guardduty.models.GuardDutyBackend.create_detector = _gd_create_detector
_gd_update = moto.guardduty.models.Detector.update


def _gd_region(detector):
    # moto's Detector does not keep its region; the create wrapper stores it.
    return getattr(detector, "baseline_region", None)


def _gd_update_detector(self, enable, finding_publishing_frequency, data_sources, features):
    _gd_check(_gd_region(self), features)
    merged = None if features is None else _gd_merge(self.features, features)
    return _gd_update(self, enable, finding_publishing_frequency, data_sources, merged)


moto.guardduty.models.Detector.update = _gd_update_detector
_gd_to_json = moto.guardduty.models.Detector.to_json


def _gd_detector_json(self):
    data = _gd_to_json(self)
    stored = {f["name"]: f for f in self.features or []}
    listed = []
    for name in GD_FEATURES:
        if name in GD_UNAVAILABLE.get(_gd_region(self), ()):
            continue
        f = dict(stored.get(name) or {"name": name})
        if name == "EKS_RUNTIME_MONITORING" and name not in stored:
            f["status"] = (stored.get("RUNTIME_MONITORING") or {}).get("status", "DISABLED")
        f.setdefault("status", "ENABLED" if name in GD_ALWAYS_ON else "DISABLED")
        listed.append(f)
    data["features"] = listed
    return data


moto.guardduty.models.Detector.to_json = _gd_detector_json

# --- Requests real AWS refuses and moto accepts (../shared/EMULATOR.md) ---------------

# CloudWatch Logs PutRetentionPolicy: retentionInDays must be one of these (API reference).
RETENTION_DAYS = {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096,
                  1827, 2192, 2557, 2922, 3288, 3653}
_put_retention_policy = moto.logs.models.LogsBackend.put_retention_policy


def _put_allowed_retention_policy(self, log_group_name, retention_in_days):
    if int(retention_in_days) not in RETENTION_DAYS:
        raise moto.logs.exceptions.InvalidParameterException(
            constraint="Member must satisfy enum value set: " + str(sorted(RETENTION_DAYS)),
            parameter="retentionInDays",
            value=retention_in_days,
        )
    return _put_retention_policy(self, log_group_name, retention_in_days)


moto.logs.models.LogsBackend.put_retention_policy = _put_allowed_retention_policy

# S3 PutBucketLifecycleConfiguration: in one rule, the expiration's Days must be greater
# than every transition's Days (S3 answers InvalidArgument 400).
_put_bucket_lifecycle = moto.s3.models.S3Backend.put_bucket_lifecycle


def _as_list(v):
    return v if isinstance(v, list) else ([] if v is None else [v])


def _put_ordered_bucket_lifecycle(self, bucket_name, rules):
    for rule in rules:
        expire = (rule.get("Expiration") or {}).get("Days")
        for t in _as_list(rule.get("Transition")):
            if expire is not None and t.get("Days") is not None and int(expire) <= int(t["Days"]):
                raise moto.s3.exceptions.InvalidArgumentError(
                    f"'Days' in the Expiration action for filter '{rule.get('ID', '')}' must be "
                    "greater than 'Days' in the Transition action",
                    "Days",
                    str(expire),
                )
    return _put_bucket_lifecycle(self, bucket_name, rules)


moto.s3.models.S3Backend.put_bucket_lifecycle = _put_ordered_bucket_lifecycle

# EC2 DeleteVpc: real EC2 refuses while anything is attached, an egress-only internet
# gateway included (DependencyViolation 400); moto checks subnets, VPN gateways and route
# tables only.
_delete_vpc = moto.ec2.models.vpcs.VPCBackend.delete_vpc


def _delete_vpc_without_egress_gateways(self, vpc_id):
    for gw in list(getattr(self, "egress_only_internet_gateways", {}).values()):
        if gw.vpc_id == vpc_id and gw.state == "attached":
            raise moto.ec2.exceptions.DependencyViolationError(
                f"The vpc '{vpc_id}' has dependencies and cannot be deleted."
            )
    return _delete_vpc(self, vpc_id)


moto.ec2.models.vpcs.VPCBackend.delete_vpc = _delete_vpc_without_egress_gateways

# EventBridge to an encrypted SNS topic: real EventBridge accepts the target and then
# drops every event (FailedInvocations) unless the topic's KMS key policy lets
# events.amazonaws.com use the key, and the SNS developer guide says aws:SourceAccount and
# aws:SourceArn conditions are not supported on that grant. moto delivers nothing, so the
# defect would go unseen: the launcher refuses such a PutTargets instead, so a test fails.
_put_targets = moto.events.models.EventsBackend.put_targets
EVENTS = "events.amazonaws.com"


def _grants_events_the_key(policy):
    doc = json.loads(policy) if isinstance(policy, str) else policy
    needed = {"kms:generatedatakey", "kms:decrypt"}
    for stmt in _as_list(doc.get("Statement")):
        principal = stmt.get("Principal")
        services = _as_list(principal.get("Service")) if isinstance(principal, dict) else []
        if stmt.get("Effect") != "Allow" or EVENTS not in services:
            continue
        keys = {k.lower() for cond in (stmt.get("Condition") or {}).values() for k in cond}
        if keys & {"aws:sourceaccount", "aws:sourcearn"}:
            continue
        for action in _as_list(stmt.get("Action")):
            a = action.lower()
            if a in ("kms:*", "*"):
                needed.clear()
            needed.discard(a.rstrip("*"))
    return not needed


def _put_deliverable_targets(self, name, event_bus_arn, targets):
    for target in targets:
        arn = target["Arn"]
        # Real EventBridge validates the target: an ARN, and a role for an API destination.
        if not arn.startswith("arn:"):
            raise moto.events.exceptions.ValidationException(
                f"(emulator) Parameter {arn} is not valid. Reason: Provided Arn is not in correct format."
            )
        if ":api-destination/" in arn and not target.get("RoleArn"):
            raise moto.events.exceptions.ValidationException(
                f"(emulator) RoleArn is required for target arn: {arn}."
            )
        if ":sns:" not in arn:
            continue
        _, _, _, region, account, _ = arn.split(":", 5)
        try:
            topic = moto.sns.models.sns_backends[account][region].get_topic(arn)
        except Exception:
            continue
        key_id = getattr(topic, "kms_master_key_id", "")
        if not key_id:
            continue
        kms = moto.kms.models.kms_backends[account][region]
        try:
            policy = kms.get_key_policy(kms.any_id_to_key_id(key_id))
        except Exception:
            continue
        if not _grants_events_the_key(policy):
            raise moto.events.exceptions.ValidationException(
                f"(emulator) EventBridge cannot publish to {arn}: the policy of its KMS key "
                f"{key_id} does not let {EVENTS} use the key without aws:SourceAccount or "
                "aws:SourceArn conditions. Real AWS accepts this target and drops every event."
            )
    return _put_targets(self, name, event_bus_arn, targets)


moto.events.models.EventsBackend.put_targets = _put_deliverable_targets

# EventBridge API destinations and connections (API reference): the endpoint is HTTPS,
# the rate is 1 to 300 a second, the method one of seven; an API_KEY connection carries a
# key name and value; a second Create of a name is ResourceAlreadyExistsException. moto
# stores whatever it is given, and overwrites.
_create_destination = moto.events.models.EventsBackend.create_api_destination
_update_destination = moto.events.models.EventsBackend.update_api_destination
_create_connection = moto.events.models.EventsBackend.create_connection
METHODS = {"POST", "GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"}


def _check_destination(endpoint, rate, method):
    if endpoint is not None and not endpoint.startswith("https://"):
        raise moto.events.exceptions.ValidationException(
            "(emulator) 1 validation error detected: Value at 'invocationEndpoint' failed to satisfy constraint: Member must satisfy regular expression pattern: ^((%[0-9A-Fa-f]{2}|[-()_.!~*';/?:@\\x26=+$,A-Za-z0-9])+)([).!';/?:,])?$ and use HTTPS"
        )
    if rate is not None and not 1 <= int(rate) <= 300:
        raise moto.events.exceptions.ValidationException(
            "(emulator) InvocationRateLimitPerSecond must be between 1 and 300"
        )
    if method is not None and method not in METHODS:
        raise moto.events.exceptions.ValidationException(f"(emulator) invalid HttpMethod {method}")


def _create_checked_destination(self, name, description, connection_arn, invocation_endpoint,
                                invocation_rate_limit_per_second, http_method):
    _check_destination(invocation_endpoint, invocation_rate_limit_per_second, http_method)
    if name in self.destinations:
        raise moto.events.exceptions.ResourceAlreadyExistsException(
            f"An api-destination '{name}' already exists.")
    return _create_destination(self, name, description, connection_arn, invocation_endpoint,
                               invocation_rate_limit_per_second, http_method)


def _update_checked_destination(self, name, **kwargs):
    _check_destination(kwargs.get("invocation_endpoint"),
                       kwargs.get("invocation_rate_limit_per_second"), kwargs.get("http_method"))
    return _update_destination(self, name, **kwargs)


def _create_checked_connection(self, name, description, authorization_type, auth_parameters):
    if name in self.connections:
        raise moto.events.exceptions.ResourceAlreadyExistsException(
            f"Connection '{name}' already exists.")
    if authorization_type == "API_KEY":
        key = (auth_parameters or {}).get("ApiKeyAuthParameters") or {}
        if not key.get("ApiKeyName") or not key.get("ApiKeyValue"):
            raise moto.events.exceptions.ValidationException(
                "(emulator) ApiKeyAuthParameters with ApiKeyName and ApiKeyValue are required for API_KEY"
            )
    elif authorization_type not in ("BASIC", "OAUTH_CLIENT_CREDENTIALS"):
        raise moto.events.exceptions.ValidationException(
            f"(emulator) invalid AuthorizationType {authorization_type}"
        )
    return _create_connection(self, name, description, authorization_type, auth_parameters)


moto.events.models.EventsBackend.create_api_destination = _create_checked_destination
moto.events.models.EventsBackend.update_api_destination = _update_checked_destination
moto.events.models.EventsBackend.create_connection = _create_checked_connection

# STS AssumeRole: real STS refuses a role that does not exist (AccessDenied, 403); moto
# hands out credentials for any ARN. An organization member made with CreateAccount has
# OrganizationAccountAccessRole (AWS creates it); any other role must be in the target
# account's IAM.
_assume_role = moto.sts.models.STSBackend.assume_role


def _org_member(account):
    for by_region in moto.organizations.models.organizations_backends.values():
        for backend in by_region.values():
            if any(a.id == account for a in getattr(backend, "accounts", [])):
                return True
    return False


def _assume_existing_role(self, region_name, role_session_name, role_arn, *args, **kwargs):
    parts = role_arn.split(":", 5)
    if len(parts) == 6 and parts[5].startswith("role/"):
        account, name = parts[4], parts[5].rsplit("/", 1)[-1]
        roles = moto.iam.models.iam_backends[account]["global"].get_roles()
        made_by_aws = name == "OrganizationAccountAccessRole" and _org_member(account)
        if not made_by_aws and not any(r.name == name for r in roles):
            raise moto.sts.exceptions.STSClientError(
                "AccessDenied",
                f"(emulator) User is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
            )
    return _assume_role(self, region_name, role_session_name, role_arn, *args, **kwargs)


moto.sts.models.STSBackend.assume_role = _assume_existing_role

# Delegated administrators. Only the management account designates one (GuardDuty,
# Inspector: moto lets any account), one per organization (moto appends a second), and
# Organizations registers an account for a service only once its trusted access is on
# (moto registers without) and only once (moto accepts it again).
import moto.inspector2.models  # noqa: E402
import moto.organizations.exceptions  # noqa: E402
import moto.securityhub.models  # noqa: E402


def _is_management(account):
    for by_region in moto.organizations.models.organizations_backends.values():
        for backend in by_region.values():
            org = getattr(backend, "org", None)
            if org is not None and org.master_account_id == account:
                return True
    return False


_gd_enable_admin = moto.guardduty.models.GuardDutyBackend.enable_organization_admin_account


def _gd_enable_admin_checked(self, admin_account_id):
    if not _is_management(self.account_id):
        raise JsonRESTError(
            "BadRequestException",
            "(emulator) The request failed because the account is not the management account of an organization.",
        )
    if self.admin_account_ids:
        raise JsonRESTError(
            "BadRequestException",
            f"(emulator) The request failed because account {self.admin_account_ids[0]} is already the delegated administrator.",
        )
    return _gd_enable_admin(self, admin_account_id)


moto.guardduty.models.GuardDutyBackend.enable_organization_admin_account = _gd_enable_admin_checked

_in_enable_admin = moto.inspector2.models.Inspector2Backend.enable_delegated_admin_account


def _in_enable_admin_checked(self, account_id):
    if not _is_management(self.account_id):
        raise JsonRESTError(
            "AccessDeniedException",
            "(emulator) Only the organization's management account can designate a delegated administrator.",
        )
    others = [a for a, status in self.admin_accounts.items() if status == "ENABLED" and a != account_id]
    if others:
        raise JsonRESTError(
            "ConflictException",
            f"(emulator) Account {others[0]} is already the delegated administrator.",
        )
    return _in_enable_admin(self, account_id)


moto.inspector2.models.Inspector2Backend.enable_delegated_admin_account = _in_enable_admin_checked

_org_register = moto.organizations.models.OrganizationsBackend.register_delegated_administrator


def _org_register_checked(self, **kwargs):
    principal = kwargs["ServicePrincipal"]
    if not any(s["ServicePrincipal"] == principal for s in self.services):
        raise moto.organizations.exceptions.ConstraintViolationException(
            f"(emulator) Enable trusted access for {principal} (EnableAWSServiceAccess) before you register a delegated administrator for it."
        )
    for admin in self.admins:
        if admin.account.id == kwargs["AccountId"] and principal in admin.services:
            raise moto.organizations.exceptions.AccountAlreadyRegisteredException()
    return _org_register(self, **kwargs)


moto.organizations.models.OrganizationsBackend.register_delegated_administrator = _org_register_checked

# AWS Config's aggregators take their delegated administrator as `config.amazonaws.com`
# (the AWS Config guide's RegisterDelegatedAdministrator example); moto's list of
# delegated-administrator services has only config-multiaccountsetup.
if "config.amazonaws.com" not in moto.organizations.models.FakeDelegatedAdministrator.SUPPORTED_SERVICES:
    moto.organizations.models.FakeDelegatedAdministrator.SUPPORTED_SERVICES.append("config.amazonaws.com")

# AWS Config organization aggregators (PutConfigurationAggregator API reference): only the
# management account or the registered delegated administrator for config.amazonaws.com
# may make one (OrganizationAccessDeniedException), and the role must be one Config can
# assume in the caller's account (InvalidRoleException); moto accepts any caller and role.
import moto.config.models  # noqa: E402

_put_aggregator = moto.config.models.ConfigBackend.put_configuration_aggregator


def _config_admin_of(account):
    backend = _organization_of(account)
    if backend is None:
        return False
    if backend.org.master_account_id == account:
        return True
    return any(admin.account.id == account and "config.amazonaws.com" in admin.services
               for admin in backend.admins)


def _put_aggregator_checked(self, config_aggregator):
    source = config_aggregator.get("OrganizationAggregationSource")
    if source:
        if not _config_admin_of(self.account_id):
            raise JsonRESTError(
                "OrganizationAccessDeniedException",
                "(emulator) You are not a registered delegated administrator for Config: the management account registers one for config.amazonaws.com first.",
            )
        role_arn = source.get("RoleArn", "")
        parts = role_arn.split(":", 5)
        name = parts[5].rsplit("/", 1)[-1] if len(parts) == 6 else ""
        roles = moto.iam.models.iam_backends[self.account_id]["global"].get_roles()
        role = next((r for r in roles if r.name == name), None)
        if len(parts) != 6 or parts[4] != self.account_id or role is None \
                or "config.amazonaws.com" not in json.dumps(role.assume_role_policy_document):
            raise JsonRESTError(
                "InvalidRoleException",
                f"(emulator) The role {role_arn} is not a role of this account that config.amazonaws.com can assume.",
            )
    return _put_aggregator(self, config_aggregator)


moto.config.models.ConfigBackend.put_configuration_aggregator = _put_aggregator_checked

# Organization trails. AWS makes one only from the management account (moto: any), only
# once trusted access for CloudTrail is on when made through the API (moto: without),
# and only when the bucket's policy lets CloudTrail write the organization's prefix
# (moto reads no policy); it stores the key ARN an alias ARN names (moto: the alias).
import moto.cloudtrail.exceptions  # noqa: E402
import moto.cloudtrail.models  # noqa: E402
import moto.kms.models  # noqa: E402
import moto.s3.models  # noqa: E402


def _organization_of(account):
    for by_region in moto.organizations.models.organizations_backends.values():
        for backend in by_region.values():
            org = getattr(backend, "org", None)
            if org is not None and (org.master_account_id == account
                                    or any(a.id == account for a in backend.accounts)):
                return backend
    return None


def _org_trail_refusal(account, bucket_name):
    backend = _organization_of(account)
    if backend is None or backend.org.master_account_id != account:
        return ("NotOrganizationMasterAccountException",
                "(emulator) The request failed because the account is not the management account of an organization.")
    if not any(s["ServicePrincipal"] == "cloudtrail.amazonaws.com" for s in backend.services):
        return ("CloudTrailAccessNotEnabledException",
                "(emulator) Trusted access for CloudTrail is not enabled in AWS Organizations (EnableAWSServiceAccess).")
    bucket = None
    for per_account in moto.s3.models.s3_backends.values():
        found = per_account["global"].buckets.get(bucket_name) if "global" in per_account else None
        if found is not None:
            bucket = found
    if bucket is not None:
        try:
            statements = json.loads(bucket.policy or b"{}").get("Statement", [])
        except ValueError:
            statements = []
        prefix = f"arn:aws:s3:::{bucket_name}/AWSLogs/{backend.org.id}/*"

        def grants(st):
            resources = st.get("Resource", [])
            resources = [resources] if isinstance(resources, str) else resources
            actions = st.get("Action", [])
            actions = [actions] if isinstance(actions, str) else actions
            return (st.get("Effect") == "Allow"
                    and (st.get("Principal") or {}).get("Service") == "cloudtrail.amazonaws.com"
                    and "s3:PutObject" in actions and prefix in resources)
        if not any(grants(st) for st in statements):
            return ("InsufficientS3BucketPolicyException",
                    f"(emulator) Incorrect S3 bucket policy is detected for bucket: {bucket_name} (no write to {prefix}).")
    return None


def _key_arn_of(kms_key_id):
    """The key ARN an alias ARN of any account names, as CloudTrail stores it."""
    if not kms_key_id or ":alias/" not in kms_key_id:
        return kms_key_id
    parts = kms_key_id.split(":")
    region, account, alias = parts[3], parts[4], parts[5]
    try:
        backend = moto.kms.models.kms_backends[account][region]
        key_id = backend.get_key_id_from_alias(alias)
        return backend.describe_key(key_id).arn if key_id else kms_key_id
    except Exception:  # noqa: BLE001 - an unknown alias: left as AWS would refuse it later
        return kms_key_id


_ct_create = moto.cloudtrail.models.CloudTrailBackend.create_trail


def _ct_create_checked(self, name, bucket_name, *args, **kwargs):
    args = list(args)
    # (s3_key_prefix, sns_topic_name, is_global, is_multi_region, log_validation,
    #  is_org_trail, cw_log_group_arn, cw_role_arn, kms_key_id, tags_list)
    if len(args) >= 9:
        args[8] = _key_arn_of(args[8])
        if args[5]:
            refused = _org_trail_refusal(self.account_id, bucket_name)
            if refused:
                raise JsonRESTError(*refused)
    return _ct_create(self, name, bucket_name, *args, **kwargs)


moto.cloudtrail.models.CloudTrailBackend.create_trail = _ct_create_checked

_ct_update = moto.cloudtrail.models.CloudTrailBackend.update_trail


def _ct_update_checked(self, name, **kwargs):
    # moto's responses pass every field by name.
    kwargs["kms_key_id"] = _key_arn_of(kwargs.get("kms_key_id"))
    if kwargs.get("is_organization_trail"):
        trail = self.get_trail(name_or_arn=name)
        refused = _org_trail_refusal(self.account_id, kwargs.get("s3_bucket_name") or trail.bucket_name)
        if refused:
            raise JsonRESTError(*refused)
    return _ct_update(self, name, **kwargs)


moto.cloudtrail.models.CloudTrailBackend.update_trail = _ct_update_checked


_GD_ORG_CONFIG = {}


def _guardduty_admin_of(region):
    """The GuardDuty administrator the management account designated in `region`."""
    for by_region in moto.organizations.models.organizations_backends.values():
        for backend in by_region.values():
            org = getattr(backend, "org", None)
            if org is None:
                continue
            gd = moto.guardduty.models.guardduty_backends[org.master_account_id][region]
            if gd.admin_account_ids:
                return gd.admin_account_ids[0]
    return None


def _guardduty_org_configuration(record, body):
    """GuardDuty Describe/UpdateOrganizationConfiguration, which moto lacks: only the
    designated administrator, on its own detector; AutoEnable and
    AutoEnableOrganizationMembers together are refused, as AWS does."""
    account, region = record["account"], record["region"]
    detector = record["path"].split("/")[2]
    if _guardduty_admin_of(region) != account:
        return 400, {"__type": "BadRequestException", "message": "(emulator) The request is rejected because the current account is not the GuardDuty delegated administrator."}
    backend = moto.guardduty.models.guardduty_backends[account][region]
    if detector not in backend.detectors:
        return 400, {"__type": "BadRequestException", "message": "(emulator) The request is rejected because the input detectorId is not owned by the current account."}
    key = (account, region, detector)
    config = _GD_ORG_CONFIG.setdefault(key, {"autoEnableOrganizationMembers": "NONE", "features": {}})
    if record["method"] == "POST":
        req = json.loads(body or b"{}")
        if "autoEnable" in req and "autoEnableOrganizationMembers" in req:
            return 400, {"__type": "BadRequestException", "message": "(emulator) Provide autoEnable or autoEnableOrganizationMembers, not both."}
        if "autoEnableOrganizationMembers" in req:
            config["autoEnableOrganizationMembers"] = req["autoEnableOrganizationMembers"]
        for f in req.get("features", []):
            config["features"][f["name"]] = f.get("autoEnable", "NONE")
        return 200, {}
    return 200, {
        "autoEnable": config["autoEnableOrganizationMembers"] != "NONE",
        "autoEnableOrganizationMembers": config["autoEnableOrganizationMembers"],
        "memberAccountLimitReached": False,
        "features": [{"name": n, "autoEnable": a} for n, a in sorted(config["features"].items())],
    }


_in_update_org = moto.inspector2.models.Inspector2Backend.update_organization_configuration


def _in_update_org_checked(self, auto_enable):
    if not auto_enable or "ec2" not in auto_enable or "ecr" not in auto_enable:
        raise JsonRESTError("ValidationException", "(emulator) autoEnable.ec2 and autoEnable.ecr are required.")
    admins = []
    for by_region in moto.organizations.models.organizations_backends.values():
        for backend in by_region.values():
            org = getattr(backend, "org", None)
            if org is not None:
                mgmt = moto.inspector2.models.inspector2_backends[org.master_account_id][self.region_name]
                admins += [a for a, st in mgmt.admin_accounts.items() if st == "ENABLED"]
    if self.account_id not in admins:
        raise JsonRESTError("AccessDeniedException", "(emulator) Only the delegated administrator can update the organization configuration.")
    return _in_update_org(self, auto_enable)


moto.inspector2.models.Inspector2Backend.update_organization_configuration = _in_update_org_checked

_in_describe_org = moto.inspector2.models.Inspector2Backend.describe_organization_configuration


def _in_describe_org_checked(self):
    for by_region in moto.organizations.models.organizations_backends.values():
        for backend in by_region.values():
            org = getattr(backend, "org", None)
            if org is not None:
                mgmt = moto.inspector2.models.inspector2_backends[org.master_account_id][self.region_name]
                if mgmt.admin_accounts.get(self.account_id) == "ENABLED":
                    return _in_describe_org(self)
    raise JsonRESTError("AccessDeniedException", "(emulator) Only the delegated administrator can read the organization configuration.")


moto.inspector2.models.Inspector2Backend.describe_organization_configuration = _in_describe_org_checked


def _securityhub_admins(account, region):
    """Security Hub ListOrganizationAdminAccounts, which moto lacks, from its own state."""
    backend = moto.securityhub.models.securityhub_backends[account][region]
    try:
        config = backend._get_org_config()
    except Exception:  # no organization: nobody is designated
        return []
    admin = config.get("admin_account_id")
    return [{"AccountId": admin, "Status": "ENABLED"}] if admin else []


# KMS CreateKey runs the key-policy lockout safety check: the policy must let the caller
# (here: the account, through a statement for its root or "*") call PutKeyPolicy later,
# or KMS answers MalformedPolicyDocumentException. moto accepts any policy.
_create_key = moto.kms.models.KmsBackend.create_key


def _lets_account_put_policy(policy, account_id):
    doc = json.loads(policy)
    for stmt in _as_list(doc.get("Statement")):
        if stmt.get("Effect") != "Allow" or stmt.get("Condition"):
            continue
        principal = stmt.get("Principal")
        aws = principal if principal == "*" else (principal or {}).get("AWS") if isinstance(principal, dict) else None
        names = set(_as_list(aws))
        if not names & {"*", account_id, f"arn:aws:iam::{account_id}:root"}:
            continue
        actions = {a.lower() for a in _as_list(stmt.get("Action"))}
        if actions & {"kms:*", "*", "kms:putkeypolicy"}:
            return True
    return False


def _create_key_with_lockout_check(self, policy, *args, **kwargs):
    if policy and not _lets_account_put_policy(policy, self.account_id):
        raise JsonRESTError(
            "MalformedPolicyDocumentException",
            "The new key policy will not allow you to update the key policy in the future.",
        )
    return _create_key(self, policy, *args, **kwargs)


moto.kms.models.KmsBackend.create_key = _create_key_with_lockout_check

KEY = re.compile(r"Credential=([^/]+)/")
SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")


def is_write(record):
    """Anything but a read (the same rule as tests/it/emulator.rs `is_write`)."""
    action = record["action"]
    if action:
        # IAM's GenerateCredentialReport is a read in IAM's own access levels.
        # STS AssumeRole (an organization run's way into a member) changes no account.
        return not action.startswith(
            ("Describe", "Get", "List", "GenerateCredentialReport", "AssumeRole")
        )
    last = record["path"].rsplit("/", 1)[-1]
    return not (record["method"] in ("GET", "HEAD") or last.startswith(("get", "list", "describe")))


# Organization S3 policies per account (see Layer.effective_policy).
S3_POLICIES = {}


class Layer:
    def __init__(self, app, latency_ms):
        self.app = app
        self.latency = latency_ms / 1000.0
        self.faults = []
        self.requests = []
        self.lock = threading.Lock()
        self.hold_at = None
        self.writes = 0
        self.held = False

    def __call__(self, environ, start_response):
        # Each record gets the seconds its request took here (added latency included):
        # their sum over a run's wall time is the average number of requests in flight.
        started = time.perf_counter()
        try:
            return self.handle(environ, start_response)
        finally:
            record = environ.get("baseline.record")
            if record is not None:
                record["seconds"] = round(time.perf_counter() - started, 4)

    def handle(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_baseline/"):
            return self.control(environ, start_response, path)
        if self.latency:
            time.sleep(self.latency)
        if path.startswith("/moto-api"):
            return self.app(environ, start_response)

        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        auth = environ.get("HTTP_AUTHORIZATION", "")
        m = SCOPE.search(auth)
        region, service = (m.group(1), m.group(2)) if m else (None, None)
        action = None
        target = environ.get("HTTP_X_AMZ_TARGET")
        if target:
            action = target.split(".")[-1]
        else:
            for source in (environ.get("QUERY_STRING", ""), body.decode("utf-8", "replace")):
                found = parse_qs(source).get("Action")
                if found:
                    action = found[0]
                    break
        key = KEY.search(auth)
        record = {
            # The account the credentials act as (assumed-role keys name their member).
            "account": moto.iam.models.get_account_id_from(key.group(1)) if key else None,
            "method": environ.get("REQUEST_METHOD"),
            "service": service,
            "region": region,
            "action": action,
            "path": path,
        }
        environ["baseline.record"] = record
        with self.lock:
            self.requests.append(record)
            faults = list(self.faults)
        for f in faults:
            if (
                f.get("region", region) == region
                and f.get("service", service) == service
                and f.get("action", action) == action
                and f.get("method", record["method"]) == record["method"]
                and f.get("path", path) == path
            ):
                while f.get("stall"):
                    time.sleep(3600)
                return self.fail(start_response, f, service)
        if service == "organizations" and action == "DescribeEffectivePolicy":
            return self.effective_policy(start_response, record["account"], body)
        if (service == "s3" and record["method"] == "PUT" and path == "/v20180820/configuration/publicAccessBlock"
                and record["account"] in S3_POLICIES):
            return self.fail(start_response, {
                "code": "AccessDenied",
                "message": "(emulator) The account's Block Public Access settings are managed by an organization-level S3 policy.",
            }, "s3")
        if service == "securityhub" and record["method"] == "GET" and path == "/organization/admin":
            data = json.dumps({"AdminAccounts": _securityhub_admins(record["account"], region)}).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
            return [data]
        if service == "guardduty" and re.fullmatch(r"/detector/[^/]+/admin", path):
            status, payload = _guardduty_org_configuration(record, body)
            data = json.dumps(payload).encode()
            reason = "200 OK" if status == 200 else "400 Bad Request"
            headers = [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
            if status != 200:
                headers.append(("x-amzn-ErrorType", payload["__type"]))
            start_response(reason, headers)
            return [data]
        if is_write(record):
            with self.lock:
                self.writes += 1
                hold = self.writes == self.hold_at
            if hold:
                # Serve it (AWS has done it), then never answer: the client dies not knowing.
                list(self.app(environ, lambda *a, **k: None))
                with self.lock:
                    self.held = True
                while True:
                    time.sleep(3600)
        return self.app(environ, start_response)

    def effective_policy(self, start_response, account, body):
        # moto has no DescribeEffectivePolicy. S3 policies are set by
        # POST /_baseline/s3-policy {"account": id, "assign": "all"|"none"}.
        kind = json.loads(body or b"{}").get("PolicyType")
        if _organization_of(account) is None:
            code, message = "AWSOrganizationsNotInUseException", "(emulator) The account is not a member of an organization."
        elif kind == "S3_POLICY" and account in S3_POLICIES:
            content = {"s3_attributes": {"public_access_block_configuration": S3_POLICIES[account]}}
            data = json.dumps({"EffectivePolicy": {
                "PolicyContent": json.dumps(content), "TargetId": account, "PolicyType": kind,
                "LastUpdatedTimestamp": time.time()}}).encode()
            start_response("200 OK", [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(data)))])
            return [data]
        else:
            code, message = "EffectivePolicyNotFoundException", "(emulator) No effective policy of that type."
        return self.fail(start_response, {"code": code, "status": 400, "message": message}, "organizations")

    def fail(self, start_response, fault, service):
        code = fault.get("code", "AccessDenied")
        status = int(fault.get("status", 403))
        message = fault.get("message", "injected by the test harness")
        if service in ("ec2",):
            body = (
                f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message>"
                f"</Error></Errors><RequestID>injected</RequestID></Response>"
            )
            ctype = "text/xml"
        elif service in ("iam", "sts"):
            body = (
                f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
                f"<Message>{message}</Message></Error><RequestId>injected</RequestId></ErrorResponse>"
            )
            ctype = "text/xml"
        elif service in ("s3",):
            body = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
            ctype = "application/xml"
        else:
            body = json.dumps({"__type": code, "message": message})
            ctype = "application/x-amz-json-1.1"
        start_response(
            f"{status} Injected",
            [("Content-Type", ctype), ("x-amzn-errortype", code), ("Content-Length", str(len(body)))],
        )
        return [body.encode()]

    def control(self, environ, start_response, path):
        method = environ.get("REQUEST_METHOD")
        payload = None
        if path == "/_baseline/faults" and method == "POST":
            raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            with self.lock:
                self.faults = json.loads(raw or b"[]")
            payload = self.faults
        elif path == "/_baseline/guardduty-unavailable" and method == "POST":
            raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            with self.lock:
                GD_UNAVAILABLE.clear()
                GD_UNAVAILABLE.update({r: set(f) for r, f in json.loads(raw or b"{}").items()})
            payload = {r: sorted(f) for r, f in GD_UNAVAILABLE.items()}
        elif path == "/_baseline/age-access-keys" and method == "POST":
            # {"account": "123456789012", "user": "ci", "days": 200}: the user's access
            # keys were made that many days ago (moto stamps them with the current time).
            raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            req = json.loads(raw or b"{}")
            backend = moto.iam.models.iam_backends[req.get("account", "123456789012")]["global"]
            shift = datetime.timedelta(days=int(req["days"]))
            with self.lock:
                user = backend.users[req["user"]]
                for key in user.access_keys:
                    key.create_date = key.create_date - shift
                payload = {"keys": len(user.access_keys)}
        elif path == "/_baseline/s3-policy" and method == "POST":
            # {"account": id, "assign": "all"|"none"}: an organization S3 policy manages the
            # account's Block Public Access ({"assign": null} removes it).
            raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            req = json.loads(raw or b"{}")
            with self.lock:
                if req.get("assign") is None:
                    S3_POLICIES.pop(req["account"], None)
                else:
                    S3_POLICIES[req["account"]] = req["assign"]
                payload = dict(S3_POLICIES)
        elif path == "/_baseline/requests" and method == "GET":
            with self.lock:
                payload = list(self.requests)
        elif path == "/_baseline/hold" and method == "POST":
            raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            with self.lock:
                self.hold_at = json.loads(raw or b"{}").get("write")
                self.writes, self.held = 0, False
            payload = {}
        elif path == "/_baseline/hold" and method == "GET":
            with self.lock:
                payload = {"writes": self.writes, "held": self.held}
        elif path == "/_baseline/requests" and method == "DELETE":
            with self.lock:
                self.requests.clear()
            payload = []
        else:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"unknown control path"]
        data = json.dumps(payload).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args()

    app = DomainDispatcherApplication(create_backend_app)
    server = make_server(
        "127.0.0.1",
        args.port,
        Layer(app, args.latency_ms),
        threaded=True,
        request_handler=MotoRequestHandler,
    )
    print(f"listening on {server.server_port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
