using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using ModelZoo.Core.Training;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Native;
using ModelZoo.Torch.Pipeline;
using ModelZoo.Torch.Training;
using ModelZoo.Torch.Weights;

namespace ModelZoo.Torch;

public static class DependencyInjection
{
    /// <summary>TorchSharp for this process (threads, device), the image pipeline's settings, the architecture registry and the trainer, which starts
    /// from an entry's imported weights when it has them.</summary>
    public static IServiceCollection AddZooTorch(this IServiceCollection services, IConfiguration config)
    {
        var options = config.GetSection(TorchOptions.Section).Get<TorchOptions>() ?? new TorchOptions();
        TorchRuntime.Initialise(options);
        services.AddSingleton(options);
        services.AddSingleton(PipelineOptions.Validated(config.GetSection(PipelineOptions.Section).Get<PipelineOptions>() ?? new PipelineOptions()));
        services.AddSingleton(ArchitectureRegistry.Default);
        services.AddSingleton<IWeightsInitializer, FileWeightsInitializer>();
        services.AddSingleton(StrategyRegistry.Default);
        services.AddSingleton<ModelZoo.Core.Strategies.IStrategyCatalog>(sp => sp.GetRequiredService<StrategyRegistry>());
        services.AddSingleton<IRunTrainer, Trainer>();
        services.AddSingleton<ModelZoo.Core.DomainGap.IDomainGapProbe, Probing.DomainGapProbe>();
        services.AddSingleton<ModelZoo.Core.Recommender.IBackboneProbe, Probing.BackboneProbe>();
        services.AddSingleton<Training.Plan.TrainingPlanner>();
        return services;
    }
}
