using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;
using ModelZoo.Infrastructure.Accounts;

namespace ModelZoo.Web.Accounts;

/// <summary>
/// <c>Authorization: Bearer mzt_…</c> (or <c>?access_token=</c> on the hubs) with a personal API token: the caller is the token's owner with their current
/// roles, so the API's rules are the pages' rules. A revoked token, or a locked or deleted account, fails.
/// </summary>
public sealed class ApiTokenAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder,
    ApiTokenStore tokens, UserManager<ZooUser> users, IUserClaimsPrincipalFactory<ZooUser> principals)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "api-token";

    public static bool HasBearer(HttpRequest request) => TokenOf(request) is not null;

    /// <summary>
    /// The token of a bearer header, or on the hubs of an <c>access_token</c> query parameter: browsers cannot set
    /// headers on a WebSocket or an EventSource, so SignalR's JavaScript client sends the token that way (the .NET client
    /// sends the header). Only the hubs read the query, so a token never has to sit in an ordinary API URL.
    /// </summary>
    static string? TokenOf(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return header["Bearer ".Length..].Trim();
        return request.Path.StartsWithSegments("/hubs") && request.Query["access_token"].ToString() is { Length: > 0 } query ? query : null;
    }

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (TokenOf(Request) is not { } token) return AuthenticateResult.NoResult();
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
