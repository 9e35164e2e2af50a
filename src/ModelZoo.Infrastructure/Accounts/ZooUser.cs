using Microsoft.AspNetCore.Identity;

namespace ModelZoo.Infrastructure.Accounts;

/// <summary>A portal account (ASP.NET Core Identity's user in the portal's own database).</summary>
public sealed class ZooUser : IdentityUser
{
    /// <summary>Set for an account whose password someone else chose (the first-start admin, a user an admin
    /// created): the holder must choose their own before the portal lets them do anything else.</summary>
    public bool MustChangePassword { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>The three roles. Each account holds one; each role may do everything the one before it may.</summary>
public static class ZooRoles
{
    /// <summary>Browses the catalogue, datasets, runs, compare pages and cards; changes nothing.</summary>
    public const string Viewer = "viewer";
    /// <summary>Also launches and cancels their own runs and experiments, uploads datasets, imports weights and
    /// writes their own runs' card sections.</summary>
    public const string Analyst = "analyst";
    /// <summary>Everything: any user's runs, deleting datasets, managing users.</summary>
    public const string Admin = "admin";

    public static readonly IReadOnlyList<string> All = [Viewer, Analyst, Admin];
}

/// <summary>A personal API token. Only the SHA-256 of the token is stored: the token itself is shown once, when it is
/// made, and a copy of the database cannot be used to call the API.</summary>
public sealed class ApiTokenRecord
{
    public Guid Id { get; set; }
    public string UserId { get; set; } = "";
    public string Name { get; set; } = "";
    /// <summary>Lower-case hex SHA-256 of the token's UTF-8 text.</summary>
    public string Hash { get; set; } = "";
    /// <summary>The token's first characters, so its owner can tell tokens apart in the list.</summary>
    public string Prefix { get; set; } = "";
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? LastUsedAt { get; set; }
    public DateTimeOffset? RevokedAt { get; set; }
}
