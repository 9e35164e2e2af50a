using ModelZoo.Core.Cards;
using ModelZoo.Infrastructure.Accounts;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Identity.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace ModelZoo.Infrastructure.Persistence;

/// <summary>The portal's one database: runs and their history, and (through Identity's base class) accounts.</summary>
public sealed class ZooDbContext(DbContextOptions<ZooDbContext> options) : IdentityDbContext<ZooUser, IdentityRole, string>(options)
{
    public DbSet<RunRecord> Runs => Set<RunRecord>();
    public DbSet<RunEventRecord> RunEvents => Set<RunEventRecord>();
    public DbSet<LatencyRecord> Latencies => Set<LatencyRecord>();
    public DbSet<RunMetricRecord> RunMetrics => Set<RunMetricRecord>();
    public DbSet<ExperimentRecord> Experiments => Set<ExperimentRecord>();
    public DbSet<CardVersionRecord> CardVersions => Set<CardVersionRecord>();
    public DbSet<ApiTokenRecord> ApiTokens => Set<ApiTokenRecord>();

    protected override void OnModelCreating(ModelBuilder b)
    {
        base.OnModelCreating(b);
        // Identity's tables, named like the portal's own (snake case, no AspNet prefix).
        b.Entity<ZooUser>().ToTable("users");
        b.Entity<IdentityRole>().ToTable("roles");
        b.Entity<IdentityUserRole<string>>().ToTable("user_roles");
        b.Entity<IdentityUserClaim<string>>().ToTable("user_claims");
        b.Entity<IdentityUserLogin<string>>().ToTable("user_logins");
        b.Entity<IdentityUserToken<string>>().ToTable("user_tokens");
        b.Entity<IdentityRoleClaim<string>>().ToTable("role_claims");
        b.Entity<ApiTokenRecord>(e =>
        {
            e.ToTable("api_tokens");
            e.HasKey(x => x.Id);
            e.Property(x => x.Name).HasMaxLength(100);
            e.Property(x => x.Hash).HasMaxLength(64);
            e.Property(x => x.Prefix).HasMaxLength(16);
            e.HasIndex(x => x.Hash).IsUnique();
            e.HasIndex(x => x.UserId);
            e.HasOne<ZooUser>().WithMany().HasForeignKey(x => x.UserId).OnDelete(DeleteBehavior.Cascade);
        });
        b.Entity<RunRecord>(e =>
        {
            e.ToTable("runs");
            e.HasKey(r => r.Id);
            e.Property(r => r.Status).HasConversion<string>().HasMaxLength(16);
            e.Property(r => r.Strategy).HasMaxLength(64);
            e.Property(r => r.TargetDatasetId).HasMaxLength(200);
            e.HasIndex(r => r.ExperimentId);
            e.HasIndex(r => r.BaselineForId);
            e.Property(r => r.ModelId).HasMaxLength(200);
            e.Property(r => r.DatasetId).HasMaxLength(200);
            e.Property(r => r.Name).HasMaxLength(200);
            e.HasIndex(r => new { r.Status, r.CreatedAt });
            // No foreign key to users: a run outlives its owner's account, and runs from before accounts have none.
            e.Property(r => r.OwnerId).HasMaxLength(450);
            e.HasIndex(r => r.OwnerId);
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
        b.Entity<ExperimentRecord>(e =>
        {
            e.ToTable("experiments");
            e.HasKey(x => x.Id);
            e.Property(x => x.Kind).HasMaxLength(16);
            e.Property(x => x.Name).HasMaxLength(200);
            e.Property(x => x.DatasetId).HasMaxLength(200);
            e.HasIndex(x => x.CreatedAt);
            e.Property(x => x.OwnerId).HasMaxLength(450);
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
