using System.Collections.Concurrent;
using System.Net;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelZoo.Infrastructure.Accounts;
using ModelZoo.Web.Tests.Integration;

namespace ModelZoo.Web.Tests.Accounts;

/// <summary>Log lines of the portal, kept for assertions.</summary>
public sealed class CapturedLogs : ILoggerProvider
{
    public ConcurrentQueue<(LogLevel Level, string Category, string Message)> Lines { get; } = new();
    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);
    public void Dispose() { }

    sealed class Logger(CapturedLogs owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Lines.Enqueue((logLevel, category, formatter(state, exception)));
    }
}

/// <summary>
/// The real portal with accounts on: the first-start admin (password from the log), plus one seeded account per role with
/// a known password and a personal API token.
/// </summary>
public sealed class AccountsPortal : IAsyncDisposable
{
    public const string Password = "a long test passphrase";
    public PortalFactory Factory { get; }
    public CapturedLogs Logs { get; } = new();
    public IReadOnlyDictionary<string, string> Tokens => _tokens;
    public IReadOnlyDictionary<string, string> UserIds => _ids;
    readonly Dictionary<string, string> _tokens = new(), _ids = new();

    AccountsPortal(IReadOnlyDictionary<string, string?>? settings)
    {
        var all = new Dictionary<string, string?> { ["Auth:Mode"] = "Accounts", ["Datasets:FetchOnStartup"] = "false" };
        foreach (var (k, v) in settings ?? new Dictionary<string, string?>()) all[k] = v;
        Factory = new PortalFactory(all, logs: Logs);
    }

    public static async Task<AccountsPortal> StartAsync(IReadOnlyDictionary<string, string?>? settings = null, bool seed = true)
    {
        var portal = new AccountsPortal(settings);
        portal.Factory.StartServer();
        if (seed)
            foreach (var role in ZooRoles.All)
                await portal.SeedAsync($"{role}-user", role);
        return portal;
    }

    async Task SeedAsync(string userName, string role)
    {
        await using var scope = Factory.Services.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<ZooUser>>();
        var user = new ZooUser { UserName = userName, CreatedAt = DateTimeOffset.UtcNow };
        (await users.CreateAsync(user, Password)).Succeeded.ShouldBeTrue();
        (await users.AddToRoleAsync(user, role)).Succeeded.ShouldBeTrue();
        _ids[role] = user.Id;
        _tokens[role] = (await Factory.Services.GetRequiredService<ApiTokenStore>().CreateAsync(user.Id, "tests")).Token;
    }

    /// <summary>A client that sends the role's token (null: anonymous). Redirects are not followed.</summary>
    public HttpClient Client(string? role)
    {
        var c = Http(cookies: false);
        if (role is not null) c.DefaultRequestHeaders.Authorization = new("Bearer", _tokens[role]);
        return c;
    }

    /// <summary>A browser-like client (cookies kept, redirects not followed).</summary>
    public HttpClient Browser() => Http(cookies: true);

    // On a real Kestrel port the factory's own clients follow redirects whatever their options say; these do not.
    HttpClient Http(bool cookies) => new(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = cookies, CookieContainer = new() })
    {
        BaseAddress = Factory.ClientOptions.BaseAddress,
    };

    /// <summary>Posts a form as the page would: the antiforgery token is read from the page that holds the form.</summary>
    public static async Task<HttpResponseMessage> PostFormAsync(HttpClient browser, string pageUrl, string action, Dictionary<string, string> fields)
    {
        var page = await (await browser.GetAsync(pageUrl)).Content.ReadAsStringAsync();
        var token = Regex.Match(page, "name=\"__RequestVerificationToken\" value=\"([^\"]+)\"");
        token.Success.ShouldBeTrue($"no antiforgery token on {pageUrl}");
        fields["__RequestVerificationToken"] = WebUtility.HtmlDecode(token.Groups[1].Value);
        return await browser.PostAsync(action, new FormUrlEncodedContent(fields));
    }

    public static Task<HttpResponseMessage> LoginAsync(HttpClient browser, string userName, string password) =>
        PostFormAsync(browser, "/account/login", "/account/login", new() { ["userName"] = userName, ["password"] = password, ["returnUrl"] = "/" });

    public async ValueTask DisposeAsync() => await Factory.DisposeAsync();
}
