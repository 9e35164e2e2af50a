using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Web.Tests.Accounts;
using ModelZoo.Web.Tests.Integration;

namespace ModelZoo.Browser.Tests;

/// <summary>
/// One portal (accounts on, a viewer, an analyst and an admin seeded, the tiny Blobs dataset written) on a loopback port,
/// and one headless Debian chromium driven by Playwright, shared by the browser tests. The browser is the system's
/// (<see cref="ChromiumPath"/>): nothing is downloaded.
/// </summary>
public sealed class BrowserPortal : IAsyncLifetime
{
    /// <summary>Debian's chromium (<c>apt-get install chromium</c>; .ci/run installs it), or MODELZOO_CHROMIUM.</summary>
    public static string ChromiumPath =>
        Environment.GetEnvironmentVariable("MODELZOO_CHROMIUM") is { Length: > 0 } p ? p : "/usr/bin/chromium";

    /// <summary>Where each visited page's screenshot goes: TestResults/screenshots beside the test assembly.</summary>
    public static string ScreenshotDir { get; } = Path.Combine(AppContext.BaseDirectory, "TestResults", "screenshots");

    public AccountsPortal Portal { get; private set; } = default!;
    public string BaseUrl { get; private set; } = "";
    IPlaywright? _playwright;
    IBrowser? _browser;

    public async Task InitializeAsync()
    {
        File.Exists(ChromiumPath).ShouldBeTrue($"No chromium at {ChromiumPath}: install Debian's package (apt-get install chromium; .ci/run does) " +
                                               "or point MODELZOO_CHROMIUM at one. The tests never download a browser.");
        Directory.CreateDirectory(ScreenshotDir);
        Portal = await AccountsPortal.StartAsync();
        BaseUrl = Portal.Factory.ClientOptions.BaseAddress.ToString().TrimEnd('/');
        BlobsDataset.WriteTo(Portal.Factory.Services.GetRequiredService<DatasetStore>());

        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                // Software WebGL (SwiftShader), which Chromium no longer falls back to by itself: the compare page's
                // parallel coordinates draw with WebGL.
                "--enable-unsafe-swiftshader"],
        });
    }

    /// <summary>A fresh browser context (its own cookies) and page, watched for console errors, page errors and CSP violations.</summary>
    public async Task<WatchedPage> OpenAsync(string test)
    {
        var context = await _browser!.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = BaseUrl, AcceptDownloads = true, ViewportSize = new ViewportSize { Width = 1280, Height = 900 },
        });
        context.SetDefaultTimeout(60_000);
        return await WatchedPage.StartAsync(context, test);
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null) await _browser.DisposeAsync();
        _playwright?.Dispose();
        if (Portal is not null) await Portal.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<BrowserPortal>
{
    public const string Name = "browser";
}
