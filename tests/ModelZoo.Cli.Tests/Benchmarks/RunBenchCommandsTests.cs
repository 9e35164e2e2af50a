using System.CommandLine;
using ModelZoo.Cli;

namespace ModelZoo.Cli.Tests.Benchmarks;

/// <summary>The issue-11 benchmarks (strategies, features, memory) on tiny configurations: they parse their options,
/// train through the portal's services in a temp folder, print their tables and clean up. Their numbers belong to
/// docs/benchmarks.md, never to assertions.</summary>
public class RunBenchCommandsTests
{
    static (int Exit, string Output) Run(params string[] args)
    {
        var output = new StringWriter();
        var exit = Program.Run(["bench", .. args], new InvocationConfiguration { Output = output, Error = output });
        return (exit, output.ToString());
    }

    static List<string> Rows(string output, string prefix) => output.Split('\n').Where(l => l.StartsWith(prefix)).ToList();

    static IEnumerable<string> PortalFolders() =>
        Directory.GetDirectories(Path.GetTempPath(), "mz-bench-portal-*").Where(d => Directory.GetCreationTimeUtc(d) > DateTime.UtcNow.AddMinutes(-10));

    [Fact]
    public void Strategies_PrintsARowPerStrategyForm_WithBothRatesAndTheRatio_AndRemovesItsDataFolder()
    {
        var before = PortalFolders().ToList();
        var (exit, output) = Run("strategies", "--batch", "8", "--size", "16", "--rounds", "1", "--images", "16", "--eval-images", "8",
            "--steps", "1", "--strategies", "feature-extraction,full-fine-tune");
        exit.ShouldBe(ExitCodes.Ok, output);
        Rows(output, "| feature-extraction (cached features) | features [8x512] |").Count.ShouldBe(1, output);
        Rows(output, "| feature-extraction (per step, augmented) | labelled [8x3x16x16] |").Count.ShouldBe(1, output);
        var row = Rows(output, "| full-fine-tune | labelled [8x3x16x16] |").ShouldHaveSingleItem(output);
        row.ShouldMatch(@"^\| full-fine-tune \| labelled \[8x3x16x16\] \| \d+\.\d \| \d+\.\d \| \d+\.\d{3} \| \d+\.\d\d \|$");
        output.ShouldContain("load average at start:");
        PortalFolders().Except(before).ShouldBeEmpty("the temp data folder is removed");
    }

    [Fact]
    public void Strategies_RefusesAnUnknownStrategy_NamingIt()
    {
        var (exit, output) = Run("strategies", "--strategies", "nope", "--rounds", "1");
        exit.ShouldBe(ExitCodes.BadInput);
        output.ShouldContain("'nope'");
    }

    [Fact]
    public void FeaturesHead_PrintsTheCostOfEachPart_OfTheHeadsEpochs()
    {
        var (exit, output) = Run("features", "--examples", "64", "--epochs", "1", "--batch", "16", "--rounds", "1");
        exit.ShouldBe(ExitCodes.Ok, output);
        output.ShouldContain("1 epochs of 64 cached 512-wide features at batch 16 (4 steps):");
        Rows(output, "| FeatureBatchSource stream alone").ShouldHaveSingleItem(output);
        Rows(output, "| whole run, real recorder: steps |").ShouldHaveSingleItem(output);
        Rows(output, "| whole run, events dropped: epochs incl. validation |").ShouldHaveSingleItem(output);
    }

    [Fact]
    public void FeaturesOps_PrintsEachTensorCallOfTheHeadStep_AndTheWholeStepOverTheEpochs()
    {
        var (exit, output) = Run("features", "--mode", "ops", "--examples", "1000", "--epochs", "2", "--batch", "16", "--rounds", "1");
        exit.ShouldBe(ExitCodes.Ok, output);
        output.ShouldContain("head step calls at batch 16, 512 features, 10 classes");
        Rows(output, "| one small product: logits (16x512 by 512x10) |").ShouldHaveSingleItem(output);
        Rows(output, "| whole step: forward, loss, item, zero_grad, backward, AdamW |").ShouldHaveSingleItem(output)
            .ShouldMatch(@"^\| whole step: [^|]+\| \d+\.\d \| \d+\.\d \|$");
        output.ShouldContain("whole step x 126 steps (2 epochs of 1,000):");
    }

    [Fact]
    public void FeaturesBackbone_PrintsTheExtractionPassBesideTheModelAlone()
    {
        var (exit, output) = Run("features", "--mode", "backbone", "--examples", "16", "--size", "16", "--rounds", "1", "--reference", "none");
        exit.ShouldBe(ExitCodes.Ok, output);
        Rows(output, "| resnet18 | 16 |").ShouldHaveSingleItem(output);
    }

    [Fact]
    public void MemoryEpochs_PrintsTheResidentSizeAfterEveryEpoch_AndTheChangeFromEpochTwo()
    {
        var (exit, output) = Run("memory", "--epochs", "2", "--images", "32", "--size", "16", "--batch", "16", "--strategies", "feature-extraction");
        exit.ShouldBe(ExitCodes.Ok, output);
        Rows(output, "| 1 | ").Count.ShouldBe(1, output);
        Rows(output, "| 2 | ").Count.ShouldBe(1, output);
        output.ShouldContain("feature-extraction: epoch 2 -> 2: RSS ");
    }

    [Fact]
    public void MemoryRuns_TrainsEachRunThroughTheWorker_AndPrintsARowPerRun()
    {
        var (exit, output) = Run("memory", "--mode", "runs", "--runs", "2", "--epochs", "1", "--images", "32", "--size", "16", "--batch", "16",
            "--strategies", "feature-extraction,partial-fine-tune");
        exit.ShouldBe(ExitCodes.Ok, output);
        Rows(output, "| 1 | feature-extraction | Succeeded |").ShouldHaveSingleItem(output);
        Rows(output, "| 2 | partial-fine-tune | Succeeded |").ShouldHaveSingleItem(output);
        output.ShouldContain("run 1 -> 2: RSS ");
    }
}
