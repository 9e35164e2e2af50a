using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using ModelZoo.Torch.Pipeline;

namespace ModelZoo.Torch.Tests.Pipeline;

/// <summary>The pipeline's settings as the portal reads them: what cannot be honoured stops start-up with its name.</summary>
public class PipelineOptionsTests
{
    static IServiceCollection Services(params (string Key, string Value)[] settings)
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(settings.ToDictionary(s => s.Key, s => (string?)s.Value)).Build();
        return new ServiceCollection().AddZooTorch(config);
    }

    [Fact]
    public void Defaults_AreKept()
    {
        using var sp = Services().BuildServiceProvider();
        sp.GetRequiredService<PipelineOptions>().MemoryBudgetBytes.ShouldBe(1L << 30);
    }

    [Theory]
    [InlineData("Pipeline:MemoryBudgetBytes", "67108864", "the minimum is 134,217,728 (128 MiB)")]
    [InlineData("Pipeline:Workers", "-1", "Pipeline:Workers is -1")]
    [InlineData("Pipeline:Prefetch", "0", "Pipeline:Prefetch is 0")]
    public void ASettingThatCannotBeHonoured_StopsStartUp_NamingIt(string key, string value, string message) =>
        Should.Throw<InvalidOperationException>(() => Services((key, value))).Message.ShouldContain(message);

    [Fact]
    public void TheMinimumBudget_IsAccepted()
    {
        using var sp = Services(("Pipeline:MemoryBudgetBytes", $"{PipelineOptions.MinimumMemoryBudgetBytes}")).BuildServiceProvider();
        sp.GetRequiredService<PipelineOptions>().MemoryBudgetBytes.ShouldBe(128L << 20);
    }
}
