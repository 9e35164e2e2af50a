using ModelZoo.Core.Cards;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace ModelZoo.Infrastructure.Persistence;

public sealed class ZooDbContext(DbContextOptions<ZooDbContext> options) : DbContext(options)
{
    public DbSet<RunRecord> Runs => Set<RunRecord>();
    public DbSet<RunEventRecord> RunEvents => Set<RunEventRecord>();
    public DbSet<LatencyRecord> Latencies => Set<LatencyRecord>();
    public DbSet<RunMetricRecord> RunMetrics => Set<RunMetricRecord>();
    public DbSet<SweepRecord> Sweeps => Set<SweepRecord>();
    public DbSet<CardVersionRecord> CardVersions => Set<CardVersionRecord>();

    protected override void OnModelCreating(ModelBuilder b)
    {
        b.Entity<RunRecord>(e =>
        {
            e.ToTable("runs");
            e.HasKey(r => r.Id);
            e.Property(r => r.Status).HasConversion<string>().HasMaxLength(16);
            e.Property(r => r.Strategy).HasMaxLength(64);
            e.Property(r => r.TargetDatasetId).HasMaxLength(200);
            e.HasIndex(r => r.SweepId);
            e.HasIndex(r => r.BaselineForId);
            e.Property(r => r.ModelId).HasMaxLength(200);
            e.Property(r => r.DatasetId).HasMaxLength(200);
            e.Property(r => r.Name).HasMaxLength(200);
            e.HasIndex(r => new { r.Status, r.CreatedAt });
        });
        b.Entity<RunEventRecord>(e =>
        {
            e.ToTable("run_events");
            e.HasKey(x => x.Id);
            e.Property(x => x.Kind).HasConversion<string>().HasMaxLength(16);
            e.HasIndex(x => new { x.RunId, x.Seq }).IsUnique();
        });
        b.Entity<RunMetricRecord>(e =>
        {
            e.ToTable("run_metrics");
            e.HasKey(x => x.Id);
            e.Property(x => x.Name).HasMaxLength(64);
            e.HasIndex(x => new { x.RunId, x.Name, x.Seq });
            e.HasIndex(x => new { x.RunId, x.Seq });
        });
        b.Entity<SweepRecord>(e =>
        {
            e.ToTable("sweeps");
            e.HasKey(x => x.Id);
            e.Property(x => x.ModelId).HasMaxLength(200);
            e.Property(x => x.DatasetId).HasMaxLength(200);
        });
        b.Entity<CardVersionRecord>(e =>
        {
            e.ToTable("card_versions");
            e.HasKey(x => x.Id);
            e.Property(x => x.IntendedUse).HasMaxLength(CardAuthorText.MaxLength);
            e.Property(x => x.EthicalConsiderations).HasMaxLength(CardAuthorText.MaxLength);
            e.Property(x => x.SavedBy).HasMaxLength(200);
            e.HasIndex(x => new { x.RunId, x.Version }).IsUnique();
        });
        b.Entity<LatencyRecord>(e =>
        {
            e.ToTable("latency_measurements");
            e.HasKey(x => x.Id);
            e.Property(x => x.ModelId).HasMaxLength(200);
            e.Property(x => x.Architecture).HasMaxLength(100);
            e.Property(x => x.Device).HasMaxLength(200);
            e.Property(x => x.SoftwareVersions).HasMaxLength(300);
            e.HasIndex(x => new { x.ModelId, x.MeasuredAt });
        });
    }

    protected override void ConfigureConventions(ModelConfigurationBuilder c)
    {
        // SQLite cannot order or compare DateTimeOffset; store UTC ticks, which sort correctly.
        c.Properties<DateTimeOffset>().HaveConversion<DateTimeOffsetToBinaryConverter>();
    }
}

/// <summary>Lets <c>dotnet ef migrations add</c> build the context without starting the web host.</summary>
public sealed class ZooDbContextDesignFactory : IDesignTimeDbContextFactory<ZooDbContext>
{
    public ZooDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<ZooDbContext>().UseSqlite("Data Source=design.db").Options);
}
