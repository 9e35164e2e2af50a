using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;
using ModelZoo.Infrastructure.Accounts;

namespace ModelZoo.Web.Accounts;

/// <summary>
/// The authorization policies, one per role. Each role includes the ones below it, so a policy names the least role
/// that may pass. Endpoints and pages name a policy, never a role, so the hierarchy lives here only.
/// </summary>
public static class ZooPolicies
{
    public const string Viewer = ZooRoles.Viewer;
    public const string Analyst = ZooRoles.Analyst;
    public const string Admin = ZooRoles.Admin;

    public static AuthorizationBuilder AddZooPolicies(this AuthorizationBuilder auth) => auth
        .AddPolicy(Viewer, p => p.RequireRole(ZooRoles.Viewer, ZooRoles.Analyst, ZooRoles.Admin))
        .AddPolicy(Analyst, p => p.RequireRole(ZooRoles.Analyst, ZooRoles.Admin))
        .AddPolicy(Admin, p => p.RequireRole(ZooRoles.Admin));

    /// <summary>The account's id, or null for a caller with no account (accounts off).</summary>
    public static string? AccountId(this ClaimsPrincipal user) => user.FindFirstValue(ClaimTypes.NameIdentifier);
}

/// <summary>
/// Who may change a run or an experiment: an admin any; an analyst their own. Things owned by nobody (launched before
/// accounts, or with accounts off) are admins' alone. Everyone signed in may see every run (viewers read-only), so
/// there is no rule for seeing.
/// </summary>
public static class Ownership
{
    public static bool MayManage(ClaimsPrincipal user, string? ownerId) =>
        user.IsInRole(ZooRoles.Admin) ||
        (user.IsInRole(ZooRoles.Analyst) && ownerId is not null && user.AccountId() == ownerId);

    /// <summary>Every signed-in user may watch every run (the viewer "browses runs"); the hub's Join asks here
    /// so a later per-team rule has one place to go.</summary>
    public static bool MaySee(ClaimsPrincipal user, string? ownerId) => user.Identity?.IsAuthenticated == true;
}
