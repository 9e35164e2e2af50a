using System.Net;
using System.Security.Cryptography;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;
using ModelZoo.Infrastructure.Accounts;
using ModelZoo.Infrastructure.Persistence;

namespace ModelZoo.Web.Accounts;

/// <summary>
/// Accounts and roles: ASP.NET Core Identity on the portal's database, a cookie for the pages and personal tokens for the
/// API (one default scheme picks between them), the role policies, login rate limiting, and <c>Auth:Mode=None</c> for a
/// single-user laptop. The per-endpoint rules live beside each endpoint (<c>RequireAuthorization</c> in the *Api.cs
/// files) and every API endpoint needs at least a viewer (Program.cs maps them in one group that requires it).
/// </summary>
public static class AccountsSetup
{
    /// <summary>The default scheme: a bearer header goes to the token handler, anything else to Identity's cookie.</summary>
    public const string Scheme = "zoo";
    public const string LoginRateLimit = "login";

    public static IServiceCollection AddZooAccounts(this IServiceCollection services, IConfiguration config)
    {
        services.AddOptions<AuthOptions>().Bind(config.GetSection(AuthOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        var auth = config.GetSection(AuthOptions.Section).Get<AuthOptions>() ?? new AuthOptions();

        services.AddIdentity<ZooUser, IdentityRole>(o =>
            {
                // Length over composition rules (NIST SP 800-63B): a long passphrase is both stronger and easier to keep.
                o.Password.RequiredLength = 12;
                o.Password.RequireDigit = o.Password.RequireLowercase = o.Password.RequireUppercase = o.Password.RequireNonAlphanumeric = false;
                o.Lockout.MaxFailedAccessAttempts = 5;
                o.Lockout.DefaultLockoutTimeSpan = TimeSpan.FromMinutes(15);
                o.Lockout.AllowedForNewUsers = true;
                o.User.RequireUniqueEmail = false;
            })
            .AddEntityFrameworkStores<ZooDbContext>()
            .AddClaimsPrincipalFactory<ZooClaimsPrincipalFactory>()
            .AddDefaultTokenProviders();
        // Identity's stores take the scoped context that AddDbContextFactory also registers (one per request or circuit).
        // A role change or a lock reaches a signed-in browser within a minute, not Identity's default half hour.
        services.Configure<SecurityStampValidatorOptions>(o => o.ValidationInterval = TimeSpan.FromMinutes(1));
        services.ConfigureApplicationCookie(o =>
        {
            o.Cookie.Name = "modelzoo.auth";
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Lax;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.ExpireTimeSpan = TimeSpan.FromHours(8);
            o.SlidingExpiration = true;
            o.LoginPath = "/account/login";
            o.LogoutPath = "/account/logout";
            o.AccessDeniedPath = "/account/denied";
            // The API and the hub answer with status codes; only pages redirect to the login form.
            o.Events.OnRedirectToLogin = c => StatusOrRedirect(c, StatusCodes.Status401Unauthorized);
            o.Events.OnRedirectToAccessDenied = c => StatusOrRedirect(c, StatusCodes.Status403Forbidden);
        });

        var authentication = services.AddAuthentication(o =>
        {
            o.DefaultScheme = o.DefaultAuthenticateScheme = o.DefaultChallengeScheme = o.DefaultForbidScheme =
                auth.Mode == AuthMode.None ? LocalAdminAuthenticationHandler.SchemeName : Scheme;
        });
        authentication.AddPolicyScheme(Scheme, "Cookie or API token", o => o.ForwardDefaultSelector = c =>
            ApiTokenAuthenticationHandler.HasBearer(c.Request) ? ApiTokenAuthenticationHandler.SchemeName : IdentityConstants.ApplicationScheme);
        authentication.AddScheme<AuthenticationSchemeOptions, ApiTokenAuthenticationHandler>(ApiTokenAuthenticationHandler.SchemeName, null);
        authentication.AddScheme<AuthenticationSchemeOptions, LocalAdminAuthenticationHandler>(LocalAdminAuthenticationHandler.SchemeName, null);

        // Deny by default: an endpoint or page that names no rule still needs a signed-in user.
        services.AddAuthorizationBuilder().AddZooPolicies()
            .SetFallbackPolicy(new Microsoft.AspNetCore.Authorization.AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build());
        services.AddCascadingAuthenticationState();
        services.AddSingleton<UserAdmin>();

        services.AddRateLimiter(o =>
        {
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.AddPolicy(LoginRateLimit, c => RateLimitPartition.GetFixedWindowLimiter(
                c.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                _ => new FixedWindowRateLimiterOptions { PermitLimit = auth.LoginAttemptsPerMinute, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 }));
        });
        return services;
    }

    /// <summary>
    /// <c>Auth:Mode=None</c> is logged loudly, and refused (before the database is touched) when the configuration asks to
    /// listen on anything but loopback; what Kestrel actually bound is checked again once it has started.
    /// </summary>
    public static WebApplication RefuseUnsafeAuthMode(this WebApplication app)
    {
        var mode = app.Services.GetRequiredService<IOptions<AuthOptions>>().Value.Mode;
        if (mode == AuthMode.None)
        {
            var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("ModelZoo.Accounts");
            if (NonLoopback(ConfiguredUrls(app.Configuration)) is { } open)
                throw new InvalidOperationException(
                    $"Auth:Mode=None lets anyone who reaches the portal act as an admin, so it only runs on a loopback address; {open} is not one. " +
                    "Listen on 127.0.0.1 (Urls=http://127.0.0.1:5080) or use Auth:Mode=Accounts.");
            log.LogWarning("ACCOUNTS ARE OFF (Auth:Mode=None): every caller is an admin. Use this on a single-user machine, on loopback only.");
            // Addresses can also come from code (Kestrel's Listen); check what was actually bound, before any request is served.
            app.Lifetime.ApplicationStarted.Register(() =>
            {
                var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
                if (NonLoopback(bound) is { } address)
                {
                    log.LogCritical("Auth:Mode=None refuses to serve on {Address}, which is not a loopback address; stopping.", address);
                    app.Lifetime.StopApplication();
                }
            });
        }
        return app;
    }

    /// <summary>Authentication, the login rate limiter, authorization and the one-time-password gate, in that order.</summary>
    public static WebApplication UseZooAccounts(this WebApplication app)
    {
        app.UseAuthentication();
        app.UseRateLimiter();
        app.UseAuthorization();
        app.UsePasswordChangeGate();
        return app;
    }

    /// <summary>The addresses the configuration asks Kestrel to listen on (urls, http_ports/https_ports, Kestrel endpoints).</summary>
    public static IEnumerable<string> ConfiguredUrls(IConfiguration config)
    {
        foreach (var key in new[] { "urls", "ASPNETCORE_URLS" })
            if (config[key] is { Length: > 0 } urls)
                foreach (var u in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)) yield return u;
        // Ports alone bind every interface.
        foreach (var key in new[] { "http_ports", "https_ports" })
            if (config[key] is { Length: > 0 } ports)
                foreach (var p in ports.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)) yield return $"http://*:{p}";
        foreach (var endpoint in config.GetSection("Kestrel:Endpoints").GetChildren())
            if (endpoint["Url"] is { Length: > 0 } url) yield return url;
    }

    /// <summary>The first address that is not loopback (a wildcard, a LAN address, a host name), or null.</summary>
    public static string? NonLoopback(IEnumerable<string> urls) => urls.FirstOrDefault(u => !IsLoopback(u));

    static bool IsLoopback(string url)
    {
        var rest = url.Contains("://", StringComparison.Ordinal) ? url[(url.IndexOf("://", StringComparison.Ordinal) + 3)..] : url;
        var host = rest.StartsWith('[') ? rest[1..rest.IndexOf(']')] : rest.Split(':', '/')[0];
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase)) return true;
        return IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip);
    }

    public static bool IsApiRequest(HttpRequest request) =>
        request.Path.StartsWithSegments("/api") || request.Path.StartsWithSegments("/hubs");

    static Task StatusOrRedirect(RedirectContext<Microsoft.AspNetCore.Authentication.Cookies.CookieAuthenticationOptions> c, int status)
    {
        if (IsApiRequest(c.Request)) c.Response.StatusCode = status;
        else c.Response.Redirect(c.RedirectUri);
        return Task.CompletedTask;
    }

    /// <summary>
    /// The three roles, and on the first start with accounts on (no account yet) an <c>admin</c> with a random one-time
    /// password, written once to the log at Warning and never stored in clear. There are no default credentials.
    /// </summary>
    public static async Task SeedZooAccountsAsync(this IServiceProvider services)
    {
        await using var scope = services.CreateAsyncScope();
        var roles = scope.ServiceProvider.GetRequiredService<RoleManager<IdentityRole>>();
        foreach (var role in ZooRoles.All)
            if (!await roles.RoleExistsAsync(role)) Check(await roles.CreateAsync(new IdentityRole(role)));

        if (scope.ServiceProvider.GetRequiredService<IOptions<AuthOptions>>().Value.Mode != AuthMode.Accounts) return;
        var users = scope.ServiceProvider.GetRequiredService<UserManager<ZooUser>>();
        if (users.Users.Any()) return;
        var password = OneTimePassword();
        var admin = new ZooUser { UserName = "admin", MustChangePassword = true, CreatedAt = DateTimeOffset.UtcNow };
        Check(await users.CreateAsync(admin, password));
        Check(await users.AddToRoleAsync(admin, ZooRoles.Admin));
        scope.ServiceProvider.GetRequiredService<ILoggerFactory>().CreateLogger("ModelZoo.Accounts").LogWarning(
            "First start: created the account 'admin' with the one-time password {Password} . It is shown only this once " +
            "and must be changed at the first login (/account/login).", password);
    }

    /// <summary>20 characters from 56 unambiguous letters and digits: about 116 bits.</summary>
    public static string OneTimePassword() =>
        RandomNumberGenerator.GetString("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789", 20);

    static void Check(IdentityResult result)
    {
        if (!result.Succeeded) throw new InvalidOperationException(string.Join(" ", result.Errors.Select(e => e.Description)));
    }
}
