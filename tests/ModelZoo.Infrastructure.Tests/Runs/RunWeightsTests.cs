using Microsoft.Extensions.DependencyInjection;
using ModelZoo.Core.Runs;
using ModelZoo.Infrastructure.Runs;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Training;
using ModelZoo.Torch.Weights;

namespace ModelZoo.Infrastructure.Tests.Runs;

/// <summary>A succeeded run's trained weights, through the real worker and trainer on a tiny dataset.</summary>
public sealed class RunWeightsTests
{
    [Fact]
    public async Task ASucceededRun_SavesItsWeightsInItsFolder_RecordsHashAndSize_AndItsCardNamesThem_UntilTheFileChanges()
    {
        await using var host = new TestHost(new Trainer(ArchitectureRegistry.Default));
        await host.StartAsync();
        var runs = host.Services.GetRequiredService<RunService>();
        var outputs = host.Services.GetRequiredService<RunOutputs>();
        var launch = await runs.LaunchAsync(new RunRequest
        {
            ModelId = "resnet18.tv_in1k", DatasetId = "tiny", Strategy = "full-fine-tune",
            HyperParameters = new HyperParameters { Epochs = 1, BatchSize = 16, ImageSize = 16, Seed = 3 },
        });
        var id = launch.RunId!.Value;
        var v = await runs.UntilEndAsync(id);

        v.Status.ShouldBe(RunStatus.Succeeded, v.Error);
        var file = Path.Combine(host.DataDir, "runs", id.ToString(), $"run-{id:N}.safetensors");
        Directory.GetFiles(Path.GetDirectoryName(file)!).ShouldBe([file], "the weights and nothing else: no temp file");
        var sha256 = Sha256.OfFile(file);
        v.Result!.TrainedWeights.ShouldBe(new TrainedWeights($"run-{id:N}.safetensors", sha256, new FileInfo(file).Length));
        outputs.WeightsOf(v).Path.ShouldBe(file);

        var metadata = SafeTensors.ReadMetadata(file);
        metadata["modelzoo.run"].ShouldBe(id.ToString());
        metadata["modelzoo.entry"].ShouldBe("resnet18.tv_in1k");
        metadata["modelzoo.dataset"].ShouldBe("tiny");
        metadata["modelzoo.strategy"].ShouldBe("full-fine-tune");
        metadata["modelzoo.classes"].ShouldBe("[\"a\",\"b\"]");
        SafeTensors.ReadHeader(file).Single(t => t.Name == "fc.weight").Shape.ShouldBe([2L, 512L]);

        v.CardMarkdown.ShouldNotBeNull().ShouldContain($"Fine-tuned weights: `run-{id:N}.safetensors`");
        v.CardMarkdown.ShouldContain($"sha256 `{sha256}`");

        // A file changed on disk since is not what the record and the card describe: it is not offered.
        File.AppendAllText(file, "x");
        outputs.WeightsOf(v).Path.ShouldBeNull();
        outputs.WeightsOf(v).Problem!.ShouldContain("has changed since the run wrote it");
    }
}
