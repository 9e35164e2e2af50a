using System.ComponentModel.DataAnnotations;

namespace ModelZoo.Web.Accounts;

public enum AuthMode
{
    /// <summary>Logins, roles and personal API tokens (the default).</summary>
    Accounts,
    /// <summary>No logins: every caller is treated as an admin. For a single-user laptop install on loopback only.</summary>
    None,
}

/// <summary>The <c>Auth</c> section.</summary>
public sealed class AuthOptions
{
    public const string Section = "Auth";

    public AuthMode Mode { get; set; } = AuthMode.Accounts;

    /// <summary>Login attempts one client address may make per minute; the rest get 429. Lockout (5 failures) guards
    /// one account; this guards the portal against guessing across many accounts.</summary>
    [Range(1, 10_000)]
    public int LoginAttemptsPerMinute { get; set; } = 10;
}
