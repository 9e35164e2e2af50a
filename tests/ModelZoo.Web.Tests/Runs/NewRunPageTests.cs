using Microsoft.Extensions.DependencyInjection;
using Bunit;
using Bunit.TestDoubles;
using ModelZoo.Infrastructure.Runs;
using ModelZoo.Web.Runs;
using ModelZoo.Web.Tests.Components;

namespace ModelZoo.Web.Tests.Runs;

public class NewRunPageTests : IAsyncLifetime
{
    ComponentHost _host = default!;
    public async Task InitializeAsync() => _host = await ComponentHost.CreateAsync();
    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task InvalidValues_AreExplainedInTheForm_AndNothingIsLaunched()
    {
        var page = _host.Ctx.Render<NewRunPage>();
        page.Find("input[data-testid=epochs]").Change("0");
        page.Find("input[data-testid=lr]").Change("0");
        page.Find("button[data-testid=launch]").Click();

        page.WaitForAssertion(() =>
        {
            var errors = page.Find("[data-testid=form-errors]").TextContent;
            errors.ShouldContain("Epochs must be between 1 and 500.");
            errors.ShouldContain("Learning rate must be greater than 0");
            page.FindAll(".mud-input-error").Count.ShouldBeGreaterThanOrEqualTo(2, "each message also sits under its field");
        });
        (await _host.Get<RunService>().ListAsync()).ShouldBeEmpty();
    }

    [Fact]
    public async Task ValidForm_LaunchesTheRun_AndOpensItsPage()
    {
        var page = _host.Ctx.Render<NewRunPage>();
        page.Find("input[data-testid=epochs]").Change("1");
        page.Find("button[data-testid=launch]").Click();

        var nav = _host.Ctx.Services.GetRequiredService<BunitNavigationManager>();
        page.WaitForAssertion(() => nav.Uri.ShouldContain("/runs/"));
        var run = (await _host.Get<RunService>().ListAsync()).ShouldHaveSingleItem();
        run.DatasetId.ShouldBe("tiny");
        run.Request.HyperParameters.Epochs.ShouldBe(1);
        nav.Uri.ShouldEndWith($"/runs/{run.Id}");
    }

    [Fact]
    public async Task MaxTokens_IsCheckedInTheForm_AndSentWithTheRequest()
    {
        var page = _host.Ctx.Render<NewRunPage>();
        page.Find("input[data-testid=max-tokens]").Change("4");
        page.Find("button[data-testid=launch]").Click();
        page.WaitForAssertion(() => page.Find("[data-testid=form-errors]").TextContent.ShouldContain("Maximum text length must be between 8 and 4096 tokens."));
        (await _host.Get<RunService>().ListAsync()).ShouldBeEmpty();

        page.Find("input[data-testid=max-tokens]").Change("64");
        page.Find("button[data-testid=launch]").Click();
        var nav = _host.Ctx.Services.GetRequiredService<BunitNavigationManager>();
        page.WaitForAssertion(() => nav.Uri.ShouldContain("/runs/"));
        (await _host.Get<RunService>().ListAsync()).ShouldHaveSingleItem().Request.HyperParameters.MaxTokens.ShouldBe(64);
    }
}
