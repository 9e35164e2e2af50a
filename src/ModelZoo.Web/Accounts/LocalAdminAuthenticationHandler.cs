using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using ModelZoo.Infrastructure.Accounts;

namespace ModelZoo.Web.Accounts;

/// <summary>
/// <c>Auth:Mode=None</c>: every request is an admin with no account id, so the same policies and ownership rules run as
/// with accounts, and everything behaves as before accounts existed (runs launched are owned by nobody).
/// </summary>
public sealed class LocalAdminAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "local-admin";

    static readonly ClaimsPrincipal LocalAdmin = new(new ClaimsIdentity(
        [new Claim(ClaimTypes.Name, "local"), new Claim(ClaimTypes.Role, ZooRoles.Admin)], SchemeName));

    protected override Task<AuthenticateResult> HandleAuthenticateAsync() =>
        Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(LocalAdmin, SchemeName)));
}
