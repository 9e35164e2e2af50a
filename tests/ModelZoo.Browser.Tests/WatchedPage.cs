using System.Collections.Concurrent;
using Microsoft.Playwright;

namespace ModelZoo.Browser.Tests;

/// <summary>
/// A page whose every console error, uncaught page error and Content-Security-Policy violation is recorded, so that a
/// test can fail on any (<see cref="ShouldHaveNoErrors"/>); each page the test visits is screenshotted by
/// <see cref="ShotAsync"/>.
/// </summary>
public sealed class WatchedPage : IAsyncDisposable
{
    public IPage Page { get; }
    public ConcurrentQueue<string> Errors { get; } = new();
    readonly IBrowserContext _context;
    readonly string _test;

    // A CSP violation also reaches the console as an error; the event names the directive and what it blocked.
    const string CspListener = """
        document.addEventListener('securitypolicyviolation', e =>
            console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'} (${e.sourceFile}:${e.lineNumber})`));
        """;

    WatchedPage(IBrowserContext context, IPage page, string test)
    {
        _context = context;
        Page = page;
        _test = test;
        page.Console += (_, m) => { if (m.Type == "error") Errors.Enqueue($"console error on {page.Url}: {m.Text} ({m.Location})"); };
        // The console says "Failed to load resource: 404" without the address; name it.
        page.Response += (_, r) => { if (r.Status >= 400) Errors.Enqueue($"{r.Status} for {r.Request.Method} {r.Url}"); };
        page.PageError += (_, e) => Errors.Enqueue($"page error on {page.Url}: {e}");
    }

    public static async Task<WatchedPage> StartAsync(IBrowserContext context, string test)
    {
        await context.AddInitScriptAsync(CspListener);
        return new WatchedPage(context, await context.NewPageAsync(), test);
    }

    /// <summary>Waits until the circuit has rendered the page (MainLayout's data-interactive), so clicks reach it.</summary>
    public Task InteractiveAsync() => Page.Locator("[data-interactive=true]").WaitForAsync();

    /// <summary>Loads <paramref name="url"/> and waits until it is interactive.</summary>
    public async Task GotoAsync(string url)
    {
        await Page.GotoAsync(url);
        await InteractiveAsync();
    }

    /// <summary>Saves a full-page screenshot as TestResults/screenshots/&lt;test&gt;-&lt;name&gt;.png.</summary>
    public Task ShotAsync(string name) =>
        Page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserPortal.ScreenshotDir, $"{_test}-{name}.png"), FullPage = true });

    public void ShouldHaveNoErrors() =>
        Errors.ShouldBeEmpty($"the browser reported:\n{string.Join("\n", Errors)}");

    /// <summary>Signs in through the login form, as a person would.</summary>
    public async Task LoginAsync(string userName, string password)
    {
        await Page.GotoAsync("/account/login");
        await ShotAsync("login");
        await Page.Locator("input[name=userName]").FillAsync(userName);
        await Page.Locator("input[name=password]").FillAsync(password);
        await Page.Locator("[data-testid=login-form] button[type=submit]").ClickAsync();
        await Page.WaitForURLAsync(url => !url.Contains("/account/login", StringComparison.Ordinal));
        await InteractiveAsync();
        await Page.Locator("[data-testid=nav-account]").WaitForAsync();
    }

    public async ValueTask DisposeAsync() => await _context.DisposeAsync();
}
