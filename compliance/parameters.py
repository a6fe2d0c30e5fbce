"""The known parameters of every cmdlet apply sends, as literal data from Microsoft's cmdlet docs.

A baseline's ``setting:`` becomes a parameter NAME (``Set-ImapSettings -MaxCommandSize``), and a
name is code, not a value: it cannot be quoted. So a setting is only ever one of its cmdlet's
documented parameters, checked when the baseline is validated (``compliance.baseline.model``) and
again wherever a command is built from a change (``compliance.kinds``), so a tampered saved plan
or backup cannot send another. This module is data and two look-ups, importing nothing of the
package, so that both the baseline model and the kinds can use it without an import cycle.

PowerShell matches parameter names case-insensitively; the lists keep the documented spelling,
which is what a "did you mean" suggests. A name the docs could not confirm is left out
(docs/baselines.md, "Setting names").
"""

from __future__ import annotations

import difflib
import types
from collections.abc import Iterable, Mapping

# Parameters every cmdlet here takes that change how it runs, not what it sets (the common
# -WhatIf/-Confirm, the DC it talks to, -Force): never a setting a baseline may name.
NOT_SETTINGS = frozenset({"Confirm", "WhatIf", "DomainController", "Force"})

# Set-ImapSettings: learn.microsoft.com/powershell/module/exchange/set-imapsettings (applies to
# Exchange 2010-2019; MicrosoftDocs/office-docs-powershell exchange-ps/exchange/Set-ImapSettings.md).
SET_IMAP_SETTINGS = frozenset(
    {
        "AuthenticatedConnectionTimeout",
        "Banner",
        "CalendarItemRetrievalOption",
        "Confirm",
        "DomainController",
        "EnableExactRFC822Size",
        "EnableGSSAPIAndNTLMAuth",
        "EnforceCertificateErrors",
        "ExtendedProtectionPolicy",
        "ExternalConnectionSettings",
        "InternalConnectionSettings",
        "LogFileLocation",
        "LogFileRollOverSettings",
        "LoginType",
        "LogPerFileSizeQuota",
        "MaxCommandSize",
        "MaxConnectionFromSingleIP",
        "MaxConnections",
        "MaxConnectionsPerUser",
        "MessageRetrievalMimeFormat",
        "OwaServerUrl",
        "PreAuthenticatedConnectionTimeout",
        "ProtocolLogEnabled",
        "ProxyTargetPort",
        "Server",
        "ShowHiddenFoldersEnabled",
        "SSLBindings",
        "SuppressReadReceipt",
        "UnencryptedOrTLSBindings",
        "WhatIf",
        "X509CertificateName",
    }
)

# Set-ReceiveConnector: learn.microsoft.com/powershell/module/exchange/set-receiveconnector
# (Exchange 2010-2019; office-docs-powershell exchange-ps/exchange/Set-ReceiveConnector.md).
SET_RECEIVE_CONNECTOR = frozenset(
    {
        "Identity",
        "AdvertiseClientSettings",
        "AuthMechanism",
        "AuthTarpitInterval",
        "Banner",
        "BareLinefeedRejectionEnabled",
        "BinaryMimeEnabled",
        "Bindings",
        "ChunkingEnabled",
        "Comment",
        "Confirm",
        "ConnectionInactivityTimeout",
        "ConnectionTimeout",
        "DefaultDomain",
        "DeliveryStatusNotificationEnabled",
        "DomainController",
        "DomainSecureEnabled",
        "EightBitMimeEnabled",
        "EnableAuthGSSAPI",
        "Enabled",
        "EnhancedStatusCodesEnabled",
        "ExtendedProtectionPolicy",
        "Fqdn",
        "LongAddressesEnabled",
        "MaxAcknowledgementDelay",
        "MaxHeaderSize",
        "MaxHopCount",
        "MaxInboundConnection",
        "MaxInboundConnectionPercentagePerSource",
        "MaxInboundConnectionPerSource",
        "MaxLocalHopCount",
        "MaxLogonFailures",
        "MaxMessageSize",
        "MaxProtocolErrors",
        "MaxRecipientsPerMessage",
        "MessageRateLimit",
        "MessageRateSource",
        "Name",
        "OrarEnabled",
        "PermissionGroups",
        "PipeliningEnabled",
        "ProtocolLoggingLevel",
        "RejectReservedSecondLevelRecipientDomains",
        "RejectReservedTopLevelRecipientDomains",
        "RejectSingleLabelRecipientDomains",
        "RemoteIPRanges",
        "RequireEHLODomain",
        "RequireTLS",
        "ServiceDiscoveryFqdn",
        "SizeEnabled",
        "SmtpUtf8Enabled",
        "SuppressXAnonymousTls",
        "TarpitInterval",
        "TlsCertificateName",
        "TlsDomainCapabilities",
        "TransportRole",
        "WhatIf",
    }
)

# Set-ThrottlingPolicy on Exchange 2010 SP2/SP3: technet dd298094(v=exchg.141), "Set-ThrottlingPolicy"
# (its whole syntax line). Exchange 2010 RTM's own page was not found, so a parameter only RTM had
# is not here (docs/baselines.md).
SET_THROTTLING_POLICY_2010 = frozenset(
    {
        "Identity",
        "AnonymousMaxConcurrency",
        "AnonymousPercentTimeInAD",
        "AnonymousPercentTimeInCAS",
        "AnonymousPercentTimeInMailboxRPC",
        "Confirm",
        "CPAMaxConcurrency",
        "CPAPercentTimeInCAS",
        "CPAPercentTimeInMailboxRPC",
        "CPUStartPercent",
        "DomainController",
        "EASMaxConcurrency",
        "EASMaxDeviceDeletesPerMonth",
        "EASMaxDevices",
        "EASPercentTimeInAD",
        "EASPercentTimeInCAS",
        "EASPercentTimeInMailboxRPC",
        "EWSFastSearchTimeoutInSeconds",
        "EWSFindCountLimit",
        "EWSMaxConcurrency",
        "EWSMaxSubscriptions",
        "EWSPercentTimeInAD",
        "EWSPercentTimeInCAS",
        "EWSPercentTimeInMailboxRPC",
        "ExchangeMaxCmdlets",
        "ForwardeeLimit",
        "IMAPMaxConcurrency",
        "IMAPPercentTimeInAD",
        "IMAPPercentTimeInCAS",
        "IMAPPercentTimeInMailboxRPC",
        "MessageRateLimit",
        "Name",
        "OWAMaxConcurrency",
        "OWAPercentTimeInAD",
        "OWAPercentTimeInCAS",
        "OWAPercentTimeInMailboxRPC",
        "POPMaxConcurrency",
        "POPPercentTimeInAD",
        "POPPercentTimeInCAS",
        "POPPercentTimeInMailboxRPC",
        "PowerShellMaxCmdletQueueDepth",
        "PowerShellMaxCmdlets",
        "PowerShellMaxCmdletsTimePeriod",
        "PowerShellMaxConcurrency",
        "PowerShellMaxDestructiveCmdlets",
        "PowerShellMaxDestructiveCmdletsTimePeriod",
        "PowerShellMaxTenantConcurrency",
        "RCAMaxConcurrency",
        "RCAPercentTimeInAD",
        "RCAPercentTimeInCAS",
        "RCAPercentTimeInMailboxRPC",
        "RecipientRateLimit",
        "WhatIf",
    }
)

# Set-ThrottlingPolicy on Exchange 2013-2019: learn.microsoft.com/powershell/module/exchange/
# set-throttlingpolicy (office-docs-powershell exchange-ps/exchange/Set-ThrottlingPolicy.md). The
# budget parameters are new (ImapMaxBurst, RcaCutoffBalance...); the 2010 names the page marks
# "Exchange Server 2010" only are in the 2010 list above.
SET_THROTTLING_POLICY_2013 = frozenset(
    {
        "Identity",
        "AnonymousCutoffBalance",
        "AnonymousMaxBurst",
        "AnonymousMaxConcurrency",
        "AnonymousRechargeRate",
        "BookingSelfServiceCutoffBalance",
        "BookingSelfServiceMaxBurst",
        "BookingSelfServiceMaxConcurrency",
        "BookingSelfServiceRechargeRate",
        "ComplianceMaxExpansionDGRecipients",
        "ComplianceMaxExpansionNestedDGs",
        "Confirm",
        "ConsensusCutoffBalance",
        "ConsensusMaxBurst",
        "ConsensusMaxConcurrency",
        "ConsensusRechargeRate",
        "CpaCutoffBalance",
        "CpaMaxBurst",
        "CPAMaxConcurrency",
        "CpaRechargeRate",
        "DiscoveryMaxConcurrency",
        "DiscoveryMaxKeywords",
        "DiscoveryMaxKeywordsPerPage",
        "DiscoveryMaxMailboxes",
        "DiscoveryMaxPreviewSearchMailboxes",
        "DiscoveryMaxRefinerResults",
        "DiscoveryMaxSearchQueueDepth",
        "DiscoveryMaxStatsSearchMailboxes",
        "DiscoveryPreviewSearchResultsPageSize",
        "DiscoverySearchTimeoutPeriod",
        "DomainController",
        "EasCutoffBalance",
        "EasMaxBurst",
        "EASMaxConcurrency",
        "EASMaxDeviceDeletesPerMonth",
        "EASMaxDevices",
        "EasMaxInactivityForDeviceCleanup",
        "EasRechargeRate",
        "EncryptionRecipientCutoffBalance",
        "EncryptionRecipientMaxBurst",
        "EncryptionRecipientMaxConcurrency",
        "EncryptionRecipientRechargeRate",
        "EncryptionSenderCutoffBalance",
        "EncryptionSenderMaxBurst",
        "EncryptionSenderMaxConcurrency",
        "EncryptionSenderRechargeRate",
        "EwsCostThreshold",
        "EwsCutoffBalance",
        "EWSFastSearchTimeoutInSeconds",
        "EWSFindCountLimit",
        "EwsMaxBurst",
        "EWSMaxConcurrency",
        "EWSMaxSubscriptions",
        "EwsRechargeRate",
        "ExchangeMaxCmdlets",
        "Force",
        "ForwardeeLimit",
        "ImapCutoffBalance",
        "ImapMaxBurst",
        "IMAPMaxConcurrency",
        "ImapRechargeRate",
        "IsServiceAccount",
        "MessageRateLimit",
        "Name",
        "OutlookServiceCutoffBalance",
        "OutlookServiceMaxBurst",
        "OutlookServiceMaxConcurrency",
        "OutlookServiceMaxSocketConnectionsPerDevice",
        "OutlookServiceMaxSocketConnectionsPerUser",
        "OutlookServiceMaxSubscriptions",
        "OutlookServiceRechargeRate",
        "OwaCutoffBalance",
        "OwaMaxBurst",
        "OWAMaxConcurrency",
        "OwaRechargeRate",
        "OwaVoiceCutoffBalance",
        "OwaVoiceMaxBurst",
        "OwaVoiceMaxConcurrency",
        "OwaVoiceRechargeRate",
        "PopCutoffBalance",
        "PopMaxBurst",
        "POPMaxConcurrency",
        "PopRechargeRate",
        "PowerShellCutoffBalance",
        "PowerShellMaxBurst",
        "PowerShellMaxCmdletQueueDepth",
        "PowerShellMaxCmdlets",
        "PowerShellMaxCmdletsTimePeriod",
        "PowerShellMaxConcurrency",
        "PowerShellMaxDestructiveCmdlets",
        "PowerShellMaxDestructiveCmdletsTimePeriod",
        "PowerShellMaxOperations",
        "PowerShellMaxRunspaces",
        "PowerShellMaxRunspacesTimePeriod",
        "PowerShellMaxTenantConcurrency",
        "PowerShellMaxTenantRunspaces",
        "PowerShellRechargeRate",
        "PswsMaxConcurrency",
        "PswsMaxRequest",
        "PswsMaxRequestTimePeriod",
        "PushNotificationCutoffBalance",
        "PushNotificationMaxBurst",
        "PushNotificationMaxBurstPerDevice",
        "PushNotificationMaxConcurrency",
        "PushNotificationRechargeRate",
        "PushNotificationRechargeRatePerDevice",
        "PushNotificationSamplingPeriodPerDevice",
        "RcaCutoffBalance",
        "RcaMaxBurst",
        "RCAMaxConcurrency",
        "RcaRechargeRate",
        "RcaSharedCutoffBalance",
        "RcaSharedMaxBurst",
        "RcaSharedMaxConcurrency",
        "RcaSharedRechargeRate",
        "RecipientRateLimit",
        "SchedulesCutoffBalance",
        "SchedulesMaxBurst",
        "SchedulesMaxConcurrency",
        "SchedulesRechargeRate",
        "ThrottlingPolicyScope",
        "WhatIf",
    }
)

# A throttling baseline may target either version (its applies_to says which): both lists.
SET_THROTTLING_POLICY = SET_THROTTLING_POLICY_2010 | SET_THROTTLING_POLICY_2013

# The cmdlets whose parameters are fixed by the kind, not named by a baseline: only the documented
# parameters the kind sends are listed (each on its cmdlet's page, learn.microsoft.com/powershell/
# module/exchange/<cmdlet> for Exchange, .../microsoft.powershell.management/<cmdlet> for Windows;
# Set-ItemProperty's -Type is the Registry provider's dynamic parameter).
NEW_THROTTLING_POLICY = frozenset({"Name"})
REMOVE_THROTTLING_POLICY = frozenset({"Identity", "Confirm"})
SET_MAILBOX = frozenset({"Identity", "ThrottlingPolicy"})
ADD_AD_PERMISSION = frozenset({"Identity", "User", "ExtendedRights"})
REMOVE_AD_PERMISSION = frozenset({"Identity", "User", "ExtendedRights", "Confirm"})
NEW_ITEM_PROPERTY = frozenset({"Path", "Name", "PropertyType", "Value"})
SET_ITEM_PROPERTY = frozenset({"Path", "Name", "Value", "Type"})
REMOVE_ITEM_PROPERTY = frozenset({"Path", "Name", "Confirm"})
RESTART_SERVICE = frozenset({"Name"})


def by_cmdlet(table: dict[str, frozenset[str]]) -> Mapping[str, frozenset[str]]:
    """A kind's cmdlet -> parameters table, read-only: it is what keeps arbitrary names out."""
    return types.MappingProxyType(table)


def settable(parameters: Iterable[str], *identifying: str) -> frozenset[str]:
    """The parameters a baseline may name as a setting: all but how the cmdlet runs and which
    object it changes (``-Identity``, ``-Server``, ``-Name``, which would rename it)."""
    excluded = {name.casefold() for name in (*NOT_SETTINGS, *identifying)}
    return frozenset(name for name in parameters if name.casefold() not in excluded)


def spelled(known: Iterable[str], name: str) -> str | None:
    """The documented spelling of ``name`` if it is one of ``known`` (case-insensitively)."""
    folded = name.casefold()
    return next((k for k in known if k.casefold() == folded), None)


def closest(known: Iterable[str], name: str) -> str | None:
    """The known name nearest ``name``, for a "did you mean"; None when nothing is near."""
    by_fold = {k.casefold(): k for k in known}
    found = difflib.get_close_matches(name.casefold(), sorted(by_fold), n=1, cutoff=0.75)
    return by_fold[found[0]] if found else None


def unknown(cmdlet: str, known: Iterable[str], name: str) -> str:
    """The one-line message for a parameter ``cmdlet`` does not take."""
    close = closest(known, name)
    hint = f" (did you mean {close!r}?)" if close else ""
    return f"unknown {cmdlet} parameter {name!r}{hint}"


def is_plain_identifier(name: str) -> bool:
    """ASCII letters, digits and underscores, not starting with a digit: nothing the shell reads."""
    return name.isascii() and name.isidentifier()


# What a baseline may set on each settable family (the model checks settings against these).
IMAP_SETTINGS = settable(SET_IMAP_SETTINGS, "Server")
RECEIVE_CONNECTOR_SETTINGS = settable(SET_RECEIVE_CONNECTOR, "Identity", "Name")
THROTTLING_SETTINGS = settable(SET_THROTTLING_POLICY, "Identity", "Name")
