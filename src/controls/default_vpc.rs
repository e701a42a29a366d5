//! Default VPCs: deleted in every target region, but only when nothing but what AWS
//! created with them is inside.

use super::{Applied, Control, Proposal, Scope, Target};
use crate::baseline::Baseline;
use crate::error::TargetError;
use crate::error::{AwsError, ErrorKind, aws_err, tolerate};
use crate::permissions::{Arns, Grant};
use crate::plan::Action;
use aws_sdk_ec2::types::Filter;
use serde::{Deserialize, Serialize};
use serde_json::json;

pub struct DefaultVpc;

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DefaultVpcConfig {
    pub enabled: bool,
    /// Delete unused default VPCs. Default false: only report them.
    #[serde(default)]
    pub delete: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Desired {
    pub delete: bool,
}

/// A default VPC and everything that would keep it from being deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Vpc {
    pub id: String,
    pub cidr: String,
    pub subnets: Vec<String>,
    pub internet_gateways: Vec<String>,
    pub usage: Usage,
}

/// What is in a VPC beyond what AWS created with it. All zero means unused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    pub network_interfaces: usize,
    pub security_groups: usize,
    pub route_tables: usize,
    pub network_acls: usize,
    pub peering_connections: usize,
    pub vpn_gateways: usize,
    pub transit_gateway_attachments: usize,
    pub vpc_endpoints: usize,
    /// An egress-only internet gateway is never made with a default VPC: someone added it
    /// for IPv6 egress, so the VPC is in use (and `DeleteVpc` would fail while it exists).
    pub egress_only_internet_gateways: usize,
}

impl Usage {
    /// "2 network interfaces, 1 security group", or None when unused.
    pub fn describe(&self) -> Option<String> {
        let items: [(usize, &str, &str); 9] = [
            (
                self.network_interfaces,
                "network interface",
                "network interfaces",
            ),
            (
                self.security_groups,
                "non-default security group",
                "non-default security groups",
            ),
            (
                self.route_tables,
                "non-main route table",
                "non-main route tables",
            ),
            (
                self.network_acls,
                "non-default network ACL",
                "non-default network ACLs",
            ),
            (
                self.peering_connections,
                "peering connection",
                "peering connections",
            ),
            (self.vpn_gateways, "VPN gateway", "VPN gateways"),
            (
                self.transit_gateway_attachments,
                "transit gateway attachment",
                "transit gateway attachments",
            ),
            (self.vpc_endpoints, "VPC endpoint", "VPC endpoints"),
            (
                self.egress_only_internet_gateways,
                "egress-only internet gateway",
                "egress-only internet gateways",
            ),
        ];
        let parts: Vec<String> = items
            .iter()
            .filter(|(n, ..)| *n > 0)
            .map(|(n, one, many)| format!("{n} {}", if *n == 1 { one } else { many }))
            .collect();
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteVpc {
    pub vpc_id: String,
}

impl Control for DefaultVpc {
    const NAME: &'static str = "default_vpc";
    const SCOPE: Scope = Scope::Regional;
    type Desired = Desired;
    type Observed = Vec<Vpc>;
    type Op = DeleteVpc;

    fn permissions(desired: &Self::Desired, _arns: &Arns) -> Vec<Grant> {
        let mut g = Grant::read(
            "DefaultVpcs",
            &[
                "ec2:DescribeVpcs",
                "ec2:DescribeSubnets",
                "ec2:DescribeInternetGateways",
                "ec2:DescribeEgressOnlyInternetGateways",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeRouteTables",
                "ec2:DescribeNetworkAcls",
                "ec2:DescribeVpcPeeringConnections",
                "ec2:DescribeVpnGateways",
                "ec2:DescribeTransitGatewayAttachments",
                "ec2:DescribeVpcEndpoints",
            ],
        );
        if desired.delete {
            g.write = vec![
                "ec2:DetachInternetGateway",
                "ec2:DeleteInternetGateway",
                "ec2:DeleteSubnet",
                "ec2:DeleteVpc",
            ];
        }
        vec![g]
    }

    fn desired(baseline: &Baseline) -> Option<Desired> {
        let c = baseline.default_vpc.as_ref().filter(|c| c.enabled)?;
        Some(Desired { delete: c.delete })
    }

    async fn observe(target: &Target, _: &Desired) -> Result<Vec<Vpc>, TargetError> {
        observe_region(&target.ec2(), None)
            .await
            .map_err(TargetError::from)
    }

    fn plan(desired: &Desired, observed: &Vec<Vpc>, region: &str) -> Vec<Proposal<DeleteVpc>> {
        let address = format!("ec2.default_vpc[\"{region}\"]");
        if observed.is_empty() {
            return vec![Proposal::new(address, Action::NoOp)];
        }
        observed
            .iter()
            .map(|vpc| {
                let before = json!({
                    "vpc_id": vpc.id,
                    "cidr": vpc.cidr,
                    "subnets": vpc.subnets.len(),
                    "internet_gateways": vpc.internet_gateways,
                });
                let p = Proposal::new(address.clone(), Action::Kept).before(before);
                match (vpc.usage.describe(), desired.delete) {
                    (Some(used), _) => p.reason(format!("{} is in use: {used}", vpc.id)),
                    (None, false) => p.reason(format!(
                        "{} reported only: deletion is off (delete = false)",
                        vpc.id
                    )),
                    (None, true) => Proposal {
                        action: Action::Delete,
                        ..p.op(DeleteVpc {
                            vpc_id: vpc.id.clone(),
                        })
                    },
                }
            })
            .collect()
    }

    async fn apply(target: &Target, op: &DeleteVpc) -> Result<Applied, TargetError> {
        let ec2 = target.ec2();
        // Time may have passed since the plan was shown: look again before deleting.
        let Some(vpc) = observe_region(&ec2, Some(&op.vpc_id)).await?.pop() else {
            return Ok(Applied::AlreadyDone);
        };
        if let Some(used) = vpc.usage.describe() {
            return Err(TargetError::refused(
                "ec2:DeleteVpc",
                format!("{} is now in use ({used}); it was kept", vpc.id),
            ));
        }
        for igw in &vpc.internet_gateways {
            let detached = ec2
                .detach_internet_gateway()
                .internet_gateway_id(igw)
                .vpc_id(&vpc.id)
                .send()
                .await
                .map_err(aws_err("ec2:DetachInternetGateway"));
            tolerate(
                detached,
                &["Gateway.NotAttached", "InvalidInternetGatewayID.NotFound"],
            )?;
            let deleted = ec2
                .delete_internet_gateway()
                .internet_gateway_id(igw)
                .send()
                .await
                .map_err(aws_err("ec2:DeleteInternetGateway"));
            tolerate(deleted, &["InvalidInternetGatewayID.NotFound"])?;
        }
        for subnet in &vpc.subnets {
            let deleted = ec2
                .delete_subnet()
                .subnet_id(subnet)
                .send()
                .await
                .map_err(aws_err("ec2:DeleteSubnet"));
            tolerate(deleted, &["InvalidSubnetID.NotFound"])?;
        }
        let deleted = ec2
            .delete_vpc()
            .vpc_id(&vpc.id)
            .send()
            .await
            .map_err(aws_err("ec2:DeleteVpc"));
        Ok(match tolerate(deleted, &["InvalidVpcID.NotFound"])? {
            Some(_) => Applied::Done,
            None => Applied::AlreadyDone,
        })
    }
}

/// Ok(None) when the call failed with one of `codes` (the thing is already gone).
fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

/// The default VPCs of a region (or the one named), each with its usage. The region-wide
/// lists (peerings, VPN gateways, transit gateway attachments) are read alongside the
/// VPC list, so a region costs two round trips, not three.
pub async fn observe_region(
    ec2: &aws_sdk_ec2::Client,
    only: Option<&str>,
) -> Result<Vec<Vpc>, AwsError> {
    let mut vpcs = ec2.describe_vpcs().filters(filter("is-default", "true"));
    if let Some(id) = only {
        vpcs = vpcs.filters(filter("vpc-id", id));
    }
    let vpcs = async { vpcs.send().await.map_err(aws_err("ec2:DescribeVpcs")) };
    let peerings = async {
        ec2.describe_vpc_peering_connections()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(aws_err("ec2:DescribeVpcPeeringConnections"))
    };
    let vpn_gateways = async {
        ec2.describe_vpn_gateways()
            .send()
            .await
            .map_err(aws_err("ec2:DescribeVpnGateways"))
    };
    let tgw_attachments = async {
        let listed = ec2
            .describe_transit_gateway_attachments()
            .filters(filter("resource-type", "vpc"))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(aws_err("ec2:DescribeTransitGatewayAttachments"));
        // Some partitions and emulators have no transit gateways at all.
        match listed {
            Err(e) if e.kind == ErrorKind::Unsupported => Ok(Vec::new()),
            other => other,
        }
    };
    // DescribeEgressOnlyInternetGateways filters by tag only: list them, match attachments.
    let egress_gateways = async {
        ec2.describe_egress_only_internet_gateways()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(aws_err("ec2:DescribeEgressOnlyInternetGateways"))
    };
    let (vpcs, peerings, vpn_gateways, tgw_attachments, egress_gateways) = tokio::try_join!(
        vpcs,
        peerings,
        vpn_gateways,
        tgw_attachments,
        egress_gateways
    )?;

    let mut out = Vec::new();
    for vpc in vpcs.vpcs() {
        let Some(id) = vpc.vpc_id() else { continue };
        let live = |state: &str| {
            !matches!(
                state,
                "deleted" | "deleting" | "rejected" | "failed" | "expired"
            )
        };
        let peering_connections = peerings
            .iter()
            .filter(|p| {
                let ours = p.requester_vpc_info().and_then(|v| v.vpc_id()) == Some(id)
                    || p.accepter_vpc_info().and_then(|v| v.vpc_id()) == Some(id);
                let state = p
                    .status()
                    .and_then(|s| s.code())
                    .map(|c| c.as_str())
                    .unwrap_or("active");
                ours && live(state)
            })
            .count();
        let vpn_gateways = vpn_gateways
            .vpn_gateways()
            .iter()
            .filter(|g| {
                g.vpc_attachments().iter().any(|a| {
                    a.vpc_id() == Some(id)
                        && a.state()
                            .is_some_and(|s| live(s.as_str()) && s.as_str() != "detached")
                })
            })
            .count();
        let transit_gateway_attachments = tgw_attachments
            .iter()
            .filter(|a| a.resource_id() == Some(id) && a.state().is_none_or(|s| live(s.as_str())))
            .count();
        let egress_only_internet_gateways = egress_gateways
            .iter()
            .filter(|g| {
                g.attachments().iter().any(|a| {
                    a.vpc_id() == Some(id)
                        && a.state()
                            .is_none_or(|s| live(s.as_str()) && s.as_str() != "detached")
                })
            })
            .count();
        let mut vpc_state = observe_vpc(ec2, id).await?;
        vpc_state.usage.egress_only_internet_gateways = egress_only_internet_gateways;
        vpc_state.cidr = vpc.cidr_block().unwrap_or_default().to_owned();
        vpc_state.usage.peering_connections = peering_connections;
        vpc_state.usage.vpn_gateways = vpn_gateways;
        vpc_state.usage.transit_gateway_attachments = transit_gateway_attachments;
        out.push(vpc_state);
    }
    Ok(out)
}

/// What is inside one VPC, read with concurrent calls filtered by its id.
async fn observe_vpc(ec2: &aws_sdk_ec2::Client, id: &str) -> Result<Vpc, AwsError> {
    let by_vpc = || filter("vpc-id", id);
    let subnets = async {
        ec2.describe_subnets()
            .filters(by_vpc())
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(aws_err("ec2:DescribeSubnets"))
    };
    let igws = async {
        ec2.describe_internet_gateways()
            .filters(filter("attachment.vpc-id", id))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(aws_err("ec2:DescribeInternetGateways"))
    };
    let enis = async {
        ec2.describe_network_interfaces()
            .filters(by_vpc())
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(aws_err("ec2:DescribeNetworkInterfaces"))
    };
    let sgs = async {
        ec2.describe_security_groups()
            .filters(by_vpc())
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(aws_err("ec2:DescribeSecurityGroups"))
    };
    let rts = async {
        ec2.describe_route_tables()
            .filters(by_vpc())
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(aws_err("ec2:DescribeRouteTables"))
    };
    let acls = async {
        ec2.describe_network_acls()
            .filters(by_vpc())
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(aws_err("ec2:DescribeNetworkAcls"))
    };
    let endpoints = async {
        ec2.describe_vpc_endpoints()
            .filters(by_vpc())
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(aws_err("ec2:DescribeVpcEndpoints"))
    };
    let (subnets, igws, enis, sgs, rts, acls, endpoints) =
        tokio::try_join!(subnets, igws, enis, sgs, rts, acls, endpoints)?;
    Ok(Vpc {
        id: id.to_owned(),
        cidr: String::new(),
        subnets: subnets
            .iter()
            .filter_map(|s| s.subnet_id().map(str::to_owned))
            .collect(),
        internet_gateways: igws
            .iter()
            .filter_map(|g| g.internet_gateway_id().map(str::to_owned))
            .collect(),
        usage: Usage {
            network_interfaces: enis.len(),
            security_groups: sgs
                .iter()
                .filter(|g| g.group_name() != Some("default"))
                .count(),
            route_tables: rts
                .iter()
                .filter(|t| !t.associations().iter().any(|a| a.main() == Some(true)))
                .count(),
            network_acls: acls.iter().filter(|a| a.is_default() != Some(true)).count(),
            vpc_endpoints: endpoints
                .iter()
                .filter(|e| {
                    e.state().is_none_or(|s| {
                        !matches!(
                            s.as_str().to_ascii_lowercase().as_str(),
                            "deleted" | "deleting" | "failed" | "rejected"
                        )
                    })
                })
                .count(),
            ..Usage::default()
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vpc(usage: Usage) -> Vpc {
        Vpc {
            id: "vpc-1".into(),
            cidr: "172.31.0.0/16".into(),
            subnets: vec!["subnet-a".into(), "subnet-b".into()],
            internet_gateways: vec!["igw-1".into()],
            usage,
        }
    }

    #[test]
    fn an_unused_default_vpc_is_deleted() {
        let p = DefaultVpc::plan(
            &Desired { delete: true },
            &vec![vpc(Usage::default())],
            "eu-west-1",
        );
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].address, "ec2.default_vpc[\"eu-west-1\"]");
        assert_eq!(p[0].action, Action::Delete);
        assert_eq!(
            p[0].op,
            Some(DeleteVpc {
                vpc_id: "vpc-1".into()
            })
        );
        let before = p[0].before.as_ref().unwrap();
        assert_eq!(before["vpc_id"], "vpc-1");
        assert_eq!(before["cidr"], "172.31.0.0/16");
    }

    #[test]
    fn a_default_vpc_in_use_is_kept_with_the_reason() {
        let usage = Usage {
            network_interfaces: 2,
            security_groups: 1,
            ..Usage::default()
        };
        let p = DefaultVpc::plan(&Desired { delete: true }, &vec![vpc(usage)], "eu-west-1");
        assert_eq!(p[0].action, Action::Kept);
        assert!(p[0].op.is_none());
        assert_eq!(
            p[0].reason.as_deref(),
            Some("vpc-1 is in use: 2 network interfaces, 1 non-default security group")
        );
    }

    #[test]
    fn with_deletion_off_it_is_only_reported() {
        let p = DefaultVpc::plan(
            &Desired { delete: false },
            &vec![vpc(Usage::default())],
            "eu-west-1",
        );
        assert_eq!(p[0].action, Action::Kept);
        assert!(p[0].op.is_none());
        assert!(p[0].reason.as_deref().unwrap().contains("delete = false"));
    }

    #[test]
    fn a_region_without_a_default_vpc_is_compliant() {
        let p = DefaultVpc::plan(&Desired { delete: true }, &vec![], "eu-west-1");
        assert_eq!(p[0].action, Action::NoOp);
    }

    #[test]
    fn every_kind_of_use_is_named() {
        let usage = Usage {
            network_interfaces: 1,
            security_groups: 1,
            route_tables: 1,
            network_acls: 1,
            peering_connections: 1,
            vpn_gateways: 1,
            transit_gateway_attachments: 1,
            vpc_endpoints: 2,
            egress_only_internet_gateways: 1,
        };
        let text = usage.describe().unwrap();
        assert_eq!(text.matches(", ").count(), 8, "{text}");
        assert!(text.ends_with("2 VPC endpoints, 1 egress-only internet gateway"));
        assert_eq!(Usage::default().describe(), None);
    }
}
