using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;
using ModelZoo.Infrastructure.Accounts;

namespace ModelZoo.Web.Accounts;

/// <summary>
/// <c>Authorization: Bearer mzt_…</c> with a personal API token: the caller is the token's owner with their current
/// roles, so the API's rules are the pages' rules. A revoked token, or a locked or deleted account, fails.
/// </summary>
public sealed class ApiTokenAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder,
    ApiTokenStore tokens, UserManager<ZooUser> users, IUserClaimsPrincipalFactory<ZooUser> principals)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "api-token";

    public static bool HasBearer(HttpRequest request) =>
        request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase);

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!HasBearer(Request)) return AuthenticateResult.NoResult();
        var token = Request.Headers.Authorization.ToString()["Bearer ".Length..].Trim();
        if (await tokens.FindOwnerAsync(token, Context.RequestAborted) is not { } userId)
            return AuthenticateResult.Fail("Unknown or revoked API token.");
        var user = await users.FindByIdAsync(userId);
        if (user is null || await users.IsLockedOutAsync(user))
            return AuthenticateResult.Fail("The token's account is locked or gone.");
        if (user.MustChangePassword)
            return AuthenticateResult.Fail("The token's account must change its password first.");
        var principal = await principals.CreateAsync(user);
        var identity = new ClaimsIdentity(principal.Claims, SchemeName, ClaimTypes.Name, ClaimTypes.Role);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.Headers.WWWAuthenticate = "Bearer";
        return base.HandleChallengeAsync(properties);
    }
}
