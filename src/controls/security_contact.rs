//! The account's SECURITY alternate contact (AWS Security Maturity Model phase 1;
//! Security Hub control Account.1). Adopted when it already matches.

use super::{Applied, Control, Proposal, Scope, Target};
use crate::baseline::{Baseline, SecurityContactConfig};
use crate::error::TargetError;
use crate::error::{AwsError, aws_err};
use crate::permissions::{Arns, Grant};
use crate::plan::Action;
use aws_sdk_account::types::AlternateContactType;
use serde_json::{Value, json};

pub struct SecurityContact;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub name: String,
    pub title: String,
    pub email: String,
    pub phone: String,
}

impl Contact {
    fn view(&self) -> Value {
        json!({ "name": self.name, "title": self.title, "email": self.email, "phone": self.phone })
    }
}

impl Control for SecurityContact {
    const NAME: &'static str = "security_contact";
    const SCOPE: Scope = Scope::Account;
    type Desired = Contact;
    type Observed = Option<Contact>;
    type Op = Contact;

    fn permissions(_desired: &Self::Desired, _arns: &Arns) -> Vec<Grant> {
        vec![
            Grant::write("AccountSettings", &["account:PutAlternateContact"])
                .and_read(&["account:GetAlternateContact"]),
        ]
    }

    fn desired(baseline: &Baseline) -> Option<Contact> {
        let c: &SecurityContactConfig = baseline.security_contact.as_ref().filter(|c| c.enabled)?;
        Some(Contact {
            name: c.name.0.clone(),
            title: c.title.0.clone(),
            email: c.email.0.clone(),
            phone: c.phone.0.clone(),
        })
    }

    async fn observe(target: &Target, _: &Contact) -> Result<Option<Contact>, TargetError> {
        observe_with(&target.account_api())
            .await
            .map_err(TargetError::from)
    }

    fn plan(desired: &Contact, observed: &Option<Contact>, _: &str) -> Vec<Proposal<Contact>> {
        vec![plan(desired, observed)]
    }

    async fn apply(target: &Target, op: &Contact) -> Result<Applied, TargetError> {
        apply_with(&target.account_api(), op)
            .await
            .map_err(TargetError::from)
    }
}

pub async fn observe_with(client: &aws_sdk_account::Client) -> Result<Option<Contact>, AwsError> {
    match client
        .get_alternate_contact()
        .alternate_contact_type(AlternateContactType::Security)
        .send()
        .await
    {
        Ok(out) => Ok(out.alternate_contact().map(|c| Contact {
            name: c.name().unwrap_or_default().to_owned(),
            title: c.title().unwrap_or_default().to_owned(),
            email: c.email_address().unwrap_or_default().to_owned(),
            phone: c.phone_number().unwrap_or_default().to_owned(),
        })),
        // No contact of that type yet.
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(e) => Err(aws_err("account:GetAlternateContact")(e)),
    }
}

pub fn plan(desired: &Contact, observed: &Option<Contact>) -> Proposal<Contact> {
    let address = "account.alternate_contact[\"SECURITY\"]".to_owned();
    match observed {
        Some(live) if live == desired => Proposal::new(address, Action::NoOp).before(live.view()),
        Some(live) => Proposal::new(address, Action::Update)
            .before(live.view())
            .after(desired.view())
            .op(desired.clone()),
        None => Proposal::new(address, Action::Create)
            .after(desired.view())
            .op(desired.clone()),
    }
}

pub async fn apply_with(
    client: &aws_sdk_account::Client,
    c: &Contact,
) -> Result<Applied, AwsError> {
    client
        .put_alternate_contact()
        .alternate_contact_type(AlternateContactType::Security)
        .name(&c.name)
        .title(&c.title)
        .email_address(&c.email)
        .phone_number(&c.phone)
        .send()
        .await
        .map_err(aws_err("account:PutAlternateContact"))?;
    Ok(Applied::Done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(email: &str) -> Contact {
        Contact {
            name: "Security team".into(),
            title: "Security".into(),
            email: email.into(),
            phone: "+81-3-1234-5678".into(),
        }
    }

    #[test]
    fn missing_is_created_different_is_updated_same_is_kept() {
        let want = contact("security@corp.test");
        assert_eq!(plan(&want, &None).action, Action::Create);
        let p = plan(&want, &Some(contact("old@corp.test")));
        assert_eq!(p.action, Action::Update);
        assert_eq!(p.before.unwrap()["email"], "old@corp.test");
        let p = plan(&want, &Some(want.clone()));
        assert_eq!((p.action, p.op), (Action::NoOp, None));
    }
}
