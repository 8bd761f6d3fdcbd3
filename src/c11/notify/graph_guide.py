"""The customer's set-up steps for sending notifications from their own Exchange Online mailbox, with their
values filled in (`c11 notify graph guide`).

Steps: register an app in Microsoft Entra, upload our certificate, grant the Mail.Send *application*
permission with admin consent, create a mail-enabled security group holding the sender mailbox, and restrict
the app to that group with an Exchange application access policy (New-ApplicationAccessPolicy, checked with
Test-ApplicationAccessPolicy for the sender and for a mailbox that must be refused), or with the newer RBAC
for Applications (New-ServicePrincipal, New-ManagementScope, New-ManagementRoleAssignment
-Role "Application Mail.Send", checked with Test-ServicePrincipalAuthorization).
"""

from __future__ import annotations

from dataclasses import dataclass

PLACEHOLDER_CLIENT = "<application (client) ID>"
PLACEHOLDER_TENANT = "<directory (tenant) ID>"
PLACEHOLDER_SENDER = "<sender mailbox, e.g. notifications@yourdomain.com>"


@dataclass(frozen=True)
class GuideValues:
    sender: str = ""
    tenant_id: str = ""
    client_id: str = ""
    #: Thumbprint of the certificate to upload (shown so the admin can check the upload).
    thumbprint: str = ""
    not_after: str = ""
    cer_file: str = "c11-graph.cer"
    group_address: str = ""
    app_name: str = "c11 notifications"
    product: str = "c11"
    login_host: str = "login.microsoftonline.com"
    api_host: str = "graph.microsoft.com"
    other_mailbox: str = ""


def _domain(sender: str) -> str:
    return sender.rpartition("@")[2] if "@" in sender else "yourdomain.com"


def guide(v: GuideValues) -> str:
    """The full guide as plain text (Markdown-friendly), with the customer's values where known."""
    client = v.client_id or PLACEHOLDER_CLIENT
    tenant = v.tenant_id or PLACEHOLDER_TENANT
    sender = v.sender or PLACEHOLDER_SENDER
    domain = _domain(v.sender)
    group = v.group_address or f"{v.product.lower()}-notifications@{domain}"
    other = v.other_mailbox or f"someone-else@{domain}"
    group_name = f"{v.product} notifications"
    cert_line = (
        f"   The certificate's thumbprint is {v.thumbprint} (it expires {v.not_after}); the Thumbprint "
        "column in Entra must show the same value after the upload."
        if v.thumbprint
        else f"   (No certificate yet: we create it with `c11 notify graph certificate create --out {v.cer_file}`.)"
    )
    national = (
        ""
        if v.login_host == "login.microsoftonline.com"
        else f"\nThis tenant is in a national cloud: sign in at {v.login_host}; Graph is {v.api_host}.\n"
    )
    scope_name = f"{v.product} notifications sender"
    title = f"Sending {v.product} notifications from your own Exchange Online mailbox"
    return f"""\
{title}
{"=" * len(title)}
{national}
What we need from you at the end: the sender address ({sender}), your tenant ID
({tenant}) and the application (client) ID ({client}).
The app can only send mail (Mail.Send) and, with step 4, only as {sender}.
It cannot read any mailbox.

1. Register the app in Microsoft Entra
   a. Sign in to the Microsoft Entra admin center as an admin.
   b. Identity > Applications > App registrations > New registration.
   c. Name: {v.app_name}. Supported account types: Accounts in this organizational
      directory only. Redirect URI: leave blank. Click Register.
   d. On the Overview page note the Application (client) ID and the Directory (tenant) ID.

2. Upload our certificate
   a. In the app registration: Certificates & secrets > Certificates > Upload certificate.
   b. Choose the file {v.cer_file} we sent you (a public certificate, no private key),
      add a description, click Add.
{cert_line}
   No client secret is needed: do not create one.

3. Grant the Mail.Send application permission
   a. In the app registration: API permissions > Add a permission > Microsoft Graph.
   b. Choose Application permissions (not Delegated), search Mail.Send, tick Mail > Mail.Send,
      click Add permissions.
   c. Click "Grant admin consent for <your organization>" and confirm. The Status column
      must show "Granted". (Optionally remove the default delegated User.Read permission.)

4. Limit the app to the sender mailbox
   Without this step Mail.Send lets the app send as ANY mailbox in your organization.

   a. Create a mail-enabled security group: Exchange admin center > Recipients > Groups >
      Add a group > Mail-enabled security. Name: {group_name}.
      Description: Mailboxes used to send notifications on behalf of the {v.product} app.
      Members: the sender mailbox {sender} (and nothing else).
      Group email address: {group}. Tick "Owner approval is required" for joining.

   b. Connect to Exchange Online PowerShell (Install-Module ExchangeOnlineManagement,
      then Connect-ExchangeOnline -UserPrincipalName <your admin account>). You may need
      Set-ExecutionPolicy RemoteSigned first.

   c. Create the application access policy:

      New-ApplicationAccessPolicy -AppId {client} -PolicyScopeGroupId {group} -AccessRight RestrictAccess -Description "Restrict the {v.product} notifications app to members of {group}"

   d. Test it. For the sender mailbox:

      Test-ApplicationAccessPolicy -Identity {sender} -AppId {client}

      must show  AccessCheckResult : Granted
      and for any other mailbox, for example:

      Test-ApplicationAccessPolicy -Identity {other} -AppId {client}

      must show  AccessCheckResult : Denied

   WARNING: changes to application access policies can take more than an hour to reach
   Microsoft Graph, even when Test-ApplicationAccessPolicy already shows the right result.
   Wait at least an hour before relying on the restriction (and before concluding that a
   403 "Blocked by tenant configured AppOnly AccessPolicy settings" is a mistake).

   Newer alternative: RBAC for Applications in Exchange Online
   Microsoft recommends RBAC for Applications over application access policies. Use it
   INSTEAD of 3 and 4c (not in addition):
      - remove the Mail.Send application permission from the app registration (API
        permissions > Mail.Send > Remove permission, or revoke admin consent): Entra
        consent is tenant-wide and is added to the Exchange grant, so keeping it would
        let the app send as anyone;
      - find the Object ID of the app's service principal: Entra admin center > Enterprise
        applications > {v.app_name} > Object ID (not the app registration's object ID);
      - then in Exchange Online PowerShell:

      New-ServicePrincipal -AppId {client} -ObjectId <enterprise application object ID> -DisplayName "{v.app_name}"
      New-ManagementScope -Name "{scope_name}" -RecipientRestrictionFilter "PrimarySmtpAddress -eq '{sender}'"
      New-ManagementRoleAssignment -App {client} -Role "Application Mail.Send" -CustomResourceScope "{scope_name}"

      To scope by the group instead: -RecipientRestrictionFilter "MemberOfGroup -eq '<group distinguished name>'"
      ((Get-Group "{group_name}").DistinguishedName gives it).

      Test it (InScope must be True for the sender, False for any other mailbox):

      Test-ServicePrincipalAuthorization -Identity {client} -Resource {sender}
      Test-ServicePrincipalAuthorization -Identity {client} -Resource {other}

      These changes can also take an hour or more to reach Microsoft Graph.

5. Send us the three values
   - Sender email address: {sender}
   - Entra tenant ID:      {tenant}
   - Application (client) ID: {client}

   We then run:
      c11 notify graph configure --sender {sender} --tenant-id {tenant} --client-id {client}
      c11 notify test --to <your address> --also-check-denied {other}

Certificate renewal: about 30 days before the certificate expires we create a new one and
send it to you; upload it next to the old one (step 2). Both work until the old one expires,
so there is no interruption; remove the old one afterwards.
"""
