using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using ModelZoo.Web.Accounts;
using ModelZoo.Web.Tests.Integration;

namespace ModelZoo.Web.Tests.Accounts;

public class AccountsTests
{
    [Fact]
    public async Task FirstStart_PrintsAnAdminOneTimePassword_ThatMustBeChangedBeforeAnythingElse()
    {
        await using var portal = await AccountsPortal.StartAsync(seed: false);
        var line = portal.Logs.Lines.Single(l => l.Message.Contains("one-time password", StringComparison.Ordinal));
        line.Level.ShouldBe(LogLevel.Warning);
        var password = Regex.Match(line.Message, "one-time password (\\S+) ").Groups[1].Value;
        password.Length.ShouldBe(20);

        using var browser = portal.Browser();
        var login = await AccountsPortal.LoginAsync(browser, "admin", password);
        login.StatusCode.ShouldBe(HttpStatusCode.Redirect);
        login.Headers.Location!.OriginalString.ShouldBe(PasswordChangeGate.ChangePath);
        // Nothing else until the password is changed: pages redirect, the API refuses.
        (await browser.GetAsync("/runs")).Headers.Location!.OriginalString.ShouldBe(PasswordChangeGate.ChangePath);
        (await browser.GetAsync("/api/runs")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);

        var change = await AccountsPortal.PostFormAsync(browser, PasswordChangeGate.ChangePath, PasswordChangeGate.ChangePath, new()
        {
            ["currentPassword"] = password, ["newPassword"] = "my own long passphrase", ["confirmPassword"] = "my own long passphrase",
        });
        change.Headers.Location!.OriginalString.ShouldBe("/");
        (await browser.GetAsync("/api/runs")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await browser.GetAsync("/admin/users")).StatusCode.ShouldBe(HttpStatusCode.OK);

        // The one-time password is gone, and a second start creates no second admin.
        using var other = portal.Browser();
        (await AccountsPortal.LoginAsync(other, "admin", password)).Headers.Location!.OriginalString.ShouldStartWith("/account/login?error=invalid");
    }

    [Fact]
    public async Task FiveFailedLogins_LockTheAccount_EvenAgainstTheRightPassword()
    {
        await using var portal = await AccountsPortal.StartAsync();
        using var browser = portal.Browser();
        for (var i = 0; i < 5; i++)
            (await AccountsPortal.LoginAsync(browser, "viewer-user", "wrong password " + i)).Headers.Location!.OriginalString
                .ShouldStartWith(i < 4 ? "/account/login?error=invalid" : "/account/login?error=locked");
        (await AccountsPortal.LoginAsync(browser, "viewer-user", AccountsPortal.Password)).Headers.Location!.OriginalString
            .ShouldStartWith("/account/login?error=locked");
        // A locked account's API token stops working too.
        (await portal.Client("viewer").GetAsync("/api/runs")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task LoginAttempts_AreRateLimitedPerClient()
    {
        await using var portal = await AccountsPortal.StartAsync(new Dictionary<string, string?> { ["Auth:LoginAttemptsPerMinute"] = "3" });
        using var browser = portal.Browser();
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 4; i++) statuses.Add((await AccountsPortal.LoginAsync(browser, "admin-user", "wrong")).StatusCode);
        statuses.ShouldBe([HttpStatusCode.Redirect, HttpStatusCode.Redirect, HttpStatusCode.Redirect, HttpStatusCode.TooManyRequests]);
    }

    [Fact]
    public async Task AGoodLogin_SetsAnHttpOnlySameSiteCookie_AndLogoutEndsIt()
    {
        await using var portal = await AccountsPortal.StartAsync();
        using var browser = portal.Browser();
        var login = await AccountsPortal.LoginAsync(browser, "analyst-user", AccountsPortal.Password);
        login.Headers.Location!.OriginalString.ShouldBe("/");
        var cookie = login.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("modelzoo.auth=", StringComparison.Ordinal));
        cookie.ShouldContain("httponly");
        cookie.ShouldContain("samesite=lax");
        (await browser.GetAsync("/api/runs")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await AccountsPortal.PostFormAsync(browser, "/account", "/account/logout", new())).StatusCode.ShouldBe(HttpStatusCode.Redirect);
        (await browser.GetAsync("/api/runs")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task ARevokedToken_NoLongerAuthenticates()
    {
        await using var portal = await AccountsPortal.StartAsync();
        var store = (ModelZoo.Infrastructure.Accounts.ApiTokenStore)portal.Factory.Services.GetService(typeof(ModelZoo.Infrastructure.Accounts.ApiTokenStore))!;
        var userId = portal.UserIds["analyst"];
        var (view, token) = await store.CreateAsync(userId, "laptop");
        using var client = portal.Factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", token);
        (await client.GetAsync("/api/runs")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await store.RevokeAsync(userId, view.Id)).ShouldBeTrue();
        (await client.GetAsync("/api/runs")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        (await store.ListAsync(userId)).Single(t => t.Id == view.Id).RevokedAt.ShouldNotBeNull();
    }

    [Fact]
    public async Task TheHub_TakesATokenInTheQuery_AsSignalRsBrowserClientSendsIt_AndTheApiDoesNot()
    {
        await using var portal = await AccountsPortal.StartAsync();
        var token = Uri.EscapeDataString(portal.Tokens["viewer"]);
        using var anonymous = portal.Client(null);
        (await anonymous.PostAsync("/hubs/runs/negotiate?negotiateVersion=1", null)).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        var negotiated = await anonymous.PostAsync($"/hubs/runs/negotiate?negotiateVersion=1&access_token={token}", null);
        negotiated.StatusCode.ShouldBe(HttpStatusCode.OK, await negotiated.Content.ReadAsStringAsync());
        (await negotiated.Content.ReadAsStringAsync()).ShouldContain("connectionToken");
        (await anonymous.PostAsync("/hubs/runs/negotiate?negotiateVersion=1&access_token=mzt_not-a-token", null)).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        // Elsewhere a token in the URL would end up in logs and browser history: the API reads the header only.
        (await anonymous.GetAsync($"/api/runs?access_token={token}")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Theory]
    [InlineData("http://0.0.0.0:5099")]
    [InlineData("http://192.168.1.20:5099")]
    [InlineData("http://*:5099")]
    public void AccountsOff_RefusesToStart_OnANonLoopbackAddress(string url)
    {
        using var factory = new PortalFactory(new Dictionary<string, string?> { ["urls"] = url, ["Datasets:FetchOnStartup"] = "false" });
        var error = Should.Throw<InvalidOperationException>(() => factory.StartServer());
        error.Message.ShouldContain("Auth:Mode=None");
    }

    [Theory]
    [InlineData("http://127.0.0.1:5080", true)]
    [InlineData("http://localhost:5080", true)]
    [InlineData("http://[::1]:5080", true)]
    [InlineData("http://0.0.0.0:5080", false)]
    [InlineData("http://+:80", false)]
    [InlineData("http://portal.example:80", false)]
    public void LoopbackCheck_KnowsItsAddresses(string url, bool loopback) =>
        (AccountsSetup.NonLoopback([url]) is null).ShouldBe(loopback);
}
