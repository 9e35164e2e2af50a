using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Infrastructure.Catalog;
using ModelZoo.Infrastructure.Runs;
using ModelZoo.Infrastructure.Storage;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Training;

namespace ModelZoo.Infrastructure.Tests.Runs;

/// <summary>Launching BERT runs with the repo's zoo/bert.base_uncased_hf: what is refused before anything is queued.</summary>
public class TextRunLaunchTests
{
    const string Bert = "bert.base_uncased_hf";

    static async Task<TestHost> StartAsync()
    {
        var host = new TestHost(new Trainer(ArchitectureRegistry.Default), startWorker: false);
        await host.StartAsync();
        // A text dataset's facts, as the text-dataset store will write them (only the facts matter before queuing).
        var dir = Directory.CreateDirectory(Path.Combine(host.Services.GetRequiredService<ZooPaths>().DatasetsDir, "texts")).FullName;
        var info = new DatasetInfo { Id = "texts", Title = "Texts", Modality = DatasetModality.Text, ClassNames = ["a", "b"], Examples = 40 };
        File.WriteAllText(Path.Combine(dir, "dataset.json"), JsonSerializer.Serialize(info, new JsonSerializerOptions(JsonSerializerDefaults.Web)));
        return host;
    }

    [Fact]
    public async Task Launch_RefusesBertOnAnImageDataset_AndResNetOnTexts()
    {
        await using var host = await StartAsync();
        var runs = host.Services.GetRequiredService<RunService>();

        var bertOnImages = await runs.LaunchAsync(new RunRequest { ModelId = Bert, DatasetId = "tiny" });
        bertOnImages.Ok.ShouldBeFalse();
        bertOnImages.Errors["DatasetId"].ShouldContain("reads texts, but dataset 'tiny' holds images");

        var resnetOnTexts = await runs.LaunchAsync(new RunRequest { ModelId = "resnet18.tv_in1k", DatasetId = "texts" });
        resnetOnTexts.Errors["DatasetId"].ShouldContain("reads images, but dataset 'texts' holds texts");
        (await runs.ListAsync()).ShouldBeEmpty();
    }

    [Fact]
    public async Task Launch_OfBertWithoutItsVocabulary_NamesEachMissingFileAndWhereItLooked()
    {
        await using var host = await StartAsync();
        var runs = host.Services.GetRequiredService<RunService>();
        var weightsDir = Path.Combine(host.Services.GetRequiredService<ZooPaths>().WeightsDir, Bert);

        var r = await runs.LaunchAsync(new RunRequest { ModelId = Bert, DatasetId = "texts" });
        r.Ok.ShouldBeFalse();
        r.Errors.Keys.ShouldBe(["ModelId"]);
        r.Errors["ModelId"].ShouldContain("vocab.txt (looked for");
        r.Errors["ModelId"].ShouldContain("config.json (looked for");
        r.Errors["ModelId"].ShouldContain(Path.Combine(weightsDir, "vocab.txt"));

        // With only the config there, only the vocabulary is missing.
        Directory.CreateDirectory(weightsDir);
        File.WriteAllText(Path.Combine(weightsDir, "config.json"), BertConfig.BertBaseUncasedJson);
        var again = await runs.LaunchAsync(new RunRequest { ModelId = Bert, DatasetId = "texts" });
        again.Errors["ModelId"].ShouldContain("vocab.txt");
        again.Errors["ModelId"].ShouldNotContain("config.json");
    }

    [Fact]
    public async Task Launch_OfBert_IsQueued_OnceItsFilesAreBesideTheWeights_AndTheyResolveForTheTrainer()
    {
        await using var host = await StartAsync();
        var runs = host.Services.GetRequiredService<RunService>();
        var catalog = host.Services.GetRequiredService<ZooCatalog>();
        var weightsDir = Directory.CreateDirectory(Path.Combine(host.Services.GetRequiredService<ZooPaths>().WeightsDir, Bert)).FullName;
        File.WriteAllLines(Path.Combine(weightsDir, "vocab.txt"), ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello"]);
        File.WriteAllText(Path.Combine(weightsDir, "config.json"), BertConfig.BertBaseUncasedJson);

        var r = await runs.LaunchAsync(new RunRequest { ModelId = Bert, DatasetId = "texts" });
        r.Errors.ShouldBeEmpty();
        r.Ok.ShouldBeTrue();

        var files = catalog.TextFilesOf(catalog.ManifestOf(Bert)!).Files!;
        files.VocabPath.ShouldBe(Path.Combine(weightsDir, "vocab.txt"));
        files.ConfigPath.ShouldBe(Path.Combine(weightsDir, "config.json"));
        files.Lowercase.ShouldBeTrue();
        files.MaxLength.ShouldBe(512);
    }
}
