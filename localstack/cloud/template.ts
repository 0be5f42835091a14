/**
 * A synthesized CloudFormation template and the resolution of its intrinsic functions against
 * the resources the local cloud created. The template is the only description of the factory
 * the local cloud reads: no resource is listed anywhere else.
 */
export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
  readonly DependsOn?: string | string[];
}

export interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
  readonly Outputs?: Record<string, { Value: unknown }>;
}

export interface PhysicalResource {
  /** What `Ref` returns. */
  readonly ref: string;
  /** What `Fn::GetAtt` returns, by attribute name. */
  readonly attributes: Record<string, string>;
}

export interface CloudIdentity {
  readonly region: string;
  readonly accountId: string;
  readonly stackName: string;
}

export class UnresolvedReference extends Error {
  override readonly name = 'UnresolvedReference';
}

export class TemplateResolver {
  private readonly physical = new Map<string, PhysicalResource>();

  constructor(
    readonly template: CfnTemplate,
    readonly identity: CloudIdentity,
  ) {}

  define(logicalId: string, resource: PhysicalResource): void {
    this.physical.set(logicalId, resource);
  }

  physicalOf(logicalId: string): PhysicalResource | undefined {
    return this.physical.get(logicalId);
  }

  resourcesOfType(type: string): [string, CfnResource][] {
    return Object.entries(this.template.Resources).filter(([, r]) => r.Type === type);
  }

  private pseudo(name: string): string | undefined {
    const { region, accountId, stackName } = this.identity;
    const values: Record<string, string> = {
      'AWS::Region': region,
      'AWS::AccountId': accountId,
      'AWS::Partition': 'aws',
      'AWS::URLSuffix': 'amazonaws.com',
      'AWS::StackName': stackName,
      'AWS::StackId': `arn:aws:cloudformation:${region}:${accountId}:stack/${stackName}/local`,
      'AWS::NoValue': '',
    };
    return values[name];
  }

  /** Replaces Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select and Fn::Split with values. */
  resolve<T = unknown>(value: unknown): T {
    return this.resolveValue(value) as T;
  }

  private resolveValue(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.resolveValue(v));
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 1) {
      const [key, arg] = entries[0] as [string, unknown];
      switch (key) {
        case 'Ref':
          return this.ref(arg as string);
        case 'Fn::GetAtt': {
          const [id, attribute] = Array.isArray(arg) ? (arg as string[]) : (arg as string).split('.');
          return this.getAtt(id as string, attribute as string);
        }
        case 'Fn::Join': {
          const [separator, parts] = arg as [string, unknown[]];
          return (this.resolveValue(parts) as unknown[]).join(separator);
        }
        case 'Fn::Select': {
          const [index, list] = arg as [number, unknown];
          return (this.resolveValue(list) as unknown[])[Number(index)];
        }
        case 'Fn::Split': {
          const [separator, source] = arg as [string, unknown];
          return String(this.resolveValue(source)).split(separator);
        }
        case 'Fn::Sub': {
          const [text, vars] =
            typeof arg === 'string' ? [arg, {}] : (arg as [string, Record<string, unknown>]);
          const bound = this.resolveValue(vars) as Record<string, string>;
          return text.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
            if (name in bound) return String(bound[name]);
            const [id, attribute] = name.split('.');
            return attribute ? this.getAtt(id as string, attribute) : this.ref(name);
          });
        }
      }
    }
    return Object.fromEntries(entries.map(([k, v]) => [k, this.resolveValue(v)]));
  }

  private ref(logicalId: string): string {
    const pseudo = this.pseudo(logicalId);
    if (pseudo !== undefined) return pseudo;
    const physical = this.physical.get(logicalId);
    if (!physical) throw new UnresolvedReference(`Ref ${logicalId}: not created locally (yet)`);
    return physical.ref;
  }

  private getAtt(logicalId: string, attribute: string): string {
    const physical = this.physical.get(logicalId);
    const value = physical?.attributes[attribute];
    if (value === undefined)
      throw new UnresolvedReference(`Fn::GetAtt ${logicalId}.${attribute}: not available locally`);
    return value;
  }
}
