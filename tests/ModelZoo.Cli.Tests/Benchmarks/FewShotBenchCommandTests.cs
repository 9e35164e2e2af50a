using System.CommandLine;
using ModelZoo.Cli;

namespace ModelZoo.Cli.Tests.Benchmarks;

/// <summary>The few-shot benchmark's plumbing only: its timings belong to docs/benchmarks.md, never to assertions.</summary>
public class FewShotBenchCommandTests
{
    [Fact]
    public void BenchFewShot_PrintsTheEpisodeTable_ForATinyEpisode()
    {
        var output = new StringWriter();
        var exit = Program.Run(["bench", "fewshot", "--size", "16", "--ways", "2", "--shots", "1", "--queries", "1", "--rounds", "2", "--threads", "1"],
            new InvocationConfiguration { Output = output, Error = output });
        exit.ShouldBe(ExitCodes.Ok, output.ToString());
        var text = output.ToString();
        text.ShouldStartWith("resnet18, 16x16, 2-way 1-shot, 1 queries per class (4 images per episode), 1 threads");
        text.ShouldContain("| episode, median of 2 |");
        text.ShouldContain("| prototype episode (embedding + prototypes), median |");
    }

    [Theory]
    [InlineData("bert", "2", "reads texts")]
    [InlineData("resnet1234", "2", "Unknown architecture")]
    [InlineData("resnet18", "1", "at least 2 classes")]
    public void BenchFewShot_RefusesWhatItCannotMeasure_WithAUsageExit(string arch, string ways, string message)
    {
        var output = new StringWriter();
        var exit = Program.Run(["bench", "fewshot", "--arch", arch, "--ways", ways, "--size", "16", "--rounds", "1", "--threads", "1"],
            new InvocationConfiguration { Output = output, Error = output });
        exit.ShouldBe(ExitCodes.BadInput, output.ToString());
        output.ToString().ShouldContain(message);
    }
}
