using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using ModelZoo.Core.Runs;
using ModelZoo.Guides;
using ModelZoo.Infrastructure.Accounts;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Web.Tests.Accounts;
using ModelZoo.Web.Tests.Integration;

namespace ModelZoo.Web.Tests.Guides;

/// <summary>The API guide's program (docs/guides/FollowExperiment), compiled into this project, run against the real
/// portal on a loopback port: it launches a 2 × 2 × 1 grid over REST, follows the runs over the SignalR hub, and
/// prints the grid. What it printed is checked against what the portal recorded.</summary>
public class ApiGuideTests
{
    [Fact]
    public async Task TheGuidesProgram_LaunchesAGrid_FollowsItLive_AndPrintsTheGridThePortalHolds()
    {
        // Accounts on, as the portal starts by default: the program sends an analyst's personal token to the API and the hub.
        await using var accounts = await AccountsPortal.StartAsync();
        var factory = accounts.Factory;
        await factory.Services.GetRequiredService<DatasetFetchService>().EnsureDefaultAsync(CancellationToken.None);
        var portal = factory.ClientOptions.BaseAddress;

        var output = new StringWriter();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var code = await FollowExperiment.RunAsync(new FollowExperiment.Options(
            portal, MnistNpmDataset.Id, ["resnet18.tv_in1k", "mobilenet_v2.tv_in1k"], ["feature-extraction", "full-fine-tune"], [1],
            Epochs: 2, TrainLimit: 64, ImageSize: 16, Token: accounts.Tokens[ZooRoles.Analyst]), output, timeout.Token);
        var text = output.ToString();
        code.ShouldBe(0, text);
        (await accounts.Client(null).GetAsync("/api/experiments")).StatusCode.ShouldBe(System.Net.HttpStatusCode.Unauthorized, "without the token nothing is served");

        var id = Guid.Parse(Regex.Match(text, "^experiment ([0-9a-f-]{36}): 4 runs queued", RegexOptions.Multiline).Groups[1].Value);
        using var http = accounts.Client(ZooRoles.Viewer);
        var runs = (await http.GetFromJsonAsync<List<RunView>>("/api/runs", RunPolling.Json))!.Where(r => r.ExperimentId == id).ToList();
        runs.Count.ShouldBe(4);
        foreach (var run in runs)
        {
            run.Status.ShouldBe(RunStatus.Succeeded);
            // Every epoch of every run was printed once, live or from the history Join returned, never twice.
            Regex.Matches(text, $"^{Regex.Escape(run.Name!)}: epoch 2/2", RegexOptions.Multiline).Count.ShouldBe(1, text);
            Regex.Matches(text, $"^{Regex.Escape(run.Name!)}: succeeded", RegexOptions.Multiline).Count.ShouldBe(1, text);
        }

        // The printed grid is the portal's: one row per model, each cell a single seed's test accuracy.
        foreach (var model in new[] { "resnet18.tv_in1k", "mobilenet_v2.tv_in1k" })
        {
            var row = text.Split('\n').Single(l => l.StartsWith($"| {model} |"));
            foreach (var run in runs.Where(r => r.ModelId == model))
                row.ShouldContain((run.Result!.TestAccuracy * 100).ToString("F2", System.Globalization.CultureInfo.InvariantCulture) + " % (n = 1)");
        }
    }
}
